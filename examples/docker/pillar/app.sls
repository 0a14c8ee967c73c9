app:
  tag: "1.0"
  replicas: 2
  greeting: hello from brine
  base_port: 18080
