web:
  server_os: {{ pillar['common']['os'] }}
  port: {{ pillar.get('ports', {}).get('https', 80) }}
  http: {{ salt['pillar.get']('ports:http') }}
  cli: {{ pillar.get('cli', False) }}
