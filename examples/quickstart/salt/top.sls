# Which SLS each minion gets: every minion gets motd and app.
base:
  '*':
    - motd
    - app
