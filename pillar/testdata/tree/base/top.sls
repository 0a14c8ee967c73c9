base:
  '*':
    - common
  'os_family:Debian':
    - match: grain
    - debian
  'G@roles:web and not E@db\d+':
    - web
  'web*':
    - match: glob
    - users.*
  'L@db1,db2':
    - db
  'N@edge':
    - edge
  'site:dc:fra*':
    - match: grain
    - fra
  'nothing-matches':
    - missing_but_not_matched
  '*.example.com':
    - optional.thing
    - common
    - ignore_missing: True
{%- if grains['os'] == 'Debian' %}
  'I@cli:True':
    - match: compound
    - from_cli
{%- endif %}
dev:
  '*':
    - devstuff
