dev:
  enabled: true
  saltenv: {{ saltenv }}
