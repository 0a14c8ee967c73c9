# Per-minion values, merged over common.sls.
app:
  port: 9090
  features:
    - metrics
    - tracing
