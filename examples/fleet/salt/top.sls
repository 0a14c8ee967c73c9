base:
  '*':
    - motd
  'G@roles:web':
    - match: compound
    - web
