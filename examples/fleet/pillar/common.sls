site: example.test
role: general
web:
  port: 8080
