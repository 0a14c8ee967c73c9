# Web minions only: a site directory, its page, and a config file that is
# rebuilt from pillar; the reload command runs only when the config changed.
{% set root = grains['demo_root'] ~ '/' ~ grains['id'] %}
site-dir:
  file.directory:
    - name: {{ root }}/www
    - makedirs: True

index:
  file.managed:
    - name: {{ root }}/www/index.html
    - source: salt://web/index.html.j2
    - template: jinja
    - require:
      - file: site-dir

web-config:
  file.managed:
    - name: {{ root }}/web.conf
    - contents: |
        listen {{ pillar['web']['port'] }}
        server_name {{ grains['id'] }}.{{ pillar['site'] }}

reload:
  cmd.run:
    - name: echo "reloaded {{ grains['id'] }} on port {{ pillar['web']['port'] }}"
    - onchanges:
      - file: web-config
