{% set root = pillar.get('root', '/tmp/brine-quickstart') %}

motd:
  file.managed:
    - name: {{ root }}/etc/motd
    - makedirs: True
    - mode: 644
    - contents: |
        {{ pillar['motd'] }}
        This host is {{ grains['id'] }}.
