{%- set os = salt['grains.get']('os', 'unknown') %}
common:
  os: {{ grains['os'] }}
  greeting: hello {{ os }}
  id: {{ grains['id'] }}
  saltenv: {{ saltenv }}
pkgs:
  - vim
  - curl
ports:
  http: 80
