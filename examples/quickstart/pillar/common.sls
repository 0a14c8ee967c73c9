root: /tmp/brine-quickstart
motd: Welcome to a brine-managed host.
app:
  name: demo
  port: 8080
  features:
    - metrics
