webserver:
  site: example
  server_name: www.example.test
  port: 8080
  deploy_user: deploy
  message: Hello from brine
