# Every minion gets common; the minion with ID "quickstart" also gets its
# own values. Try --id web2 to see the defaults.
base:
  '*':
    - common
  'quickstart':
    - quickstart
