{% set root = pillar.get('root', '/tmp/brine-quickstart') %}
{% set app = pillar['app'] %}

include:
  - motd

app_dirs:
  file.directory:
    - names:
      - {{ root }}/srv/app
      - {{ root }}/var/log/app
    - makedirs: True
    - mode: 755

app_config:
  file.managed:
    - name: {{ root }}/srv/app/app.conf
    - source: salt://app/files/app.conf.j2
    - template: jinja
    - mode: '0640'
    - context:
        port: {{ app['port'] }}
    - defaults:
        workers: 2
    - require:
      - file: app_dirs

# Runs once: `creates` skips it when the stamp exists.
app_build:
  cmd.run:
    - name: echo "built for {{ app['name'] }}" > {{ root }}/srv/app/build.stamp
    - creates: {{ root }}/srv/app/build.stamp
    - require:
      - file: app_config

app_ready:
  test.succeed_without_changes:
    - name: {{ app['name'] }} is configured
    - require:
      - cmd: app_build
      - file: motd
