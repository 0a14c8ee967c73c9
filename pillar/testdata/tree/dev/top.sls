dev:
  '*':
    - devstuff
base:
  '*':
    - common
