# Every minion: a message of the day from a template on the master,
# filled with the minion's grains and its own pillar.
motd:
  file.managed:
    - name: {{ grains['demo_root'] }}/{{ grains['id'] }}/motd
    - source: salt://motd/motd.j2
    - template: jinja
    - makedirs: True
    - mode: 0644
