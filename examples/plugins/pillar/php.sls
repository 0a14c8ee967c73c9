root: /tmp/brine-plugins-demo

php:
  PHP:
    memory_limit: 256M
    max_execution_time: 60
    expose_php: 'Off'
  Date:
    date.timezone: UTC
  opcache:
    opcache.enable: 1
    opcache.memory_consumption: 128
