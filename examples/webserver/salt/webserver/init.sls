{#- A small web server: nginx from Debian, a site configured from pillar,
    a deploy user owning the content, a log clean-up job and a hosts
    entry for the site's name. -#}
{%- set web = pillar['webserver'] %}
{%- set docroot = '/srv/www/' ~ web['site'] %}

nginx:
  pkg.installed:
    - pkgs:
      - nginx
  service.running:
    - enable: True
    - reload: True
    - require:
      - pkg: nginx
    - watch:
      - file: site config
      - file: enable site
      - file: default site

deploy user:
  user.present:
    - name: {{ web['deploy_user'] }}
    - home: /home/{{ web['deploy_user'] }}
    - shell: /bin/bash
    - groups:
      - www-data
    - require:
      - pkg: nginx

docroot:
  file.directory:
    - name: {{ docroot }}
    - user: {{ web['deploy_user'] }}
    - group: www-data
    - mode: 755
    - makedirs: True
    - require:
      - user: deploy user

index page:
  file.managed:
    - name: {{ docroot }}/index.html
    - contents: |
        <!doctype html>
        <title>{{ web['server_name'] }}</title>
        <h1>{{ web['message'] }}</h1>
    - user: {{ web['deploy_user'] }}
    - group: www-data
    - mode: 644
    - require:
      - file: docroot

site config:
  file.managed:
    - name: /etc/nginx/sites-available/{{ web['site'] }}
    - source: salt://webserver/files/site.conf.j2
    - template: jinja
    - context:
        docroot: {{ docroot }}
    - mode: 644
    - require:
      - pkg: nginx

enable site:
  file.symlink:
    - name: /etc/nginx/sites-enabled/{{ web['site'] }}
    - target: /etc/nginx/sites-available/{{ web['site'] }}
    - require:
      - file: site config

default site:
  file.absent:
    - name: /etc/nginx/sites-enabled/default
    - require:
      - pkg: nginx

site name:
  host.present:
    - name: {{ web['server_name'] }}
    - ip: 127.0.0.1

log cleanup:
  cron.present:
    - name: find /var/log/nginx -name '*.gz' -mtime +14 -delete
    - identifier: nginx-log-cleanup
    - user: root
    - minute: 15
    - hour: 3
    - require:
      - pkg: nginx
