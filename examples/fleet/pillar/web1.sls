# Only web1 receives this file: the master compiles pillar per minion and
# sends it to that minion alone.
role: frontend
web:
  port: 8443
