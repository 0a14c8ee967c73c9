{% set root = pillar['root'] %}
{% set ini = root ~ '/etc/php/php.ini' %}

# The distribution's file, written once.
php.ini:
  file.managed:
    - name: {{ ini }}
    - source: salt://files/php.ini
    - makedirs: True
    - replace: False

# ini.options_present comes from the ini plugin (examples/plugins/ini).
php settings:
  ini.options_present:
    - name: {{ ini }}
    - sections: {{ pillar['php'] | json }}
    - require:
      - file: php.ini

# Runs only when the plugin state changed something, as for a built-in.
reload php-fpm:
  cmd.run:
    - name: date > {{ root }}/php-fpm.reloaded
    - onchanges:
      - ini: php settings

# The plugin's execution functions work in templates too.
{% if salt['file.file_exists'](ini) %}
report:
  test.show_notification:
    - text: "memory_limit is {{ salt['ini.get_option'](ini, 'PHP', 'memory_limit') }}"
{% endif %}
