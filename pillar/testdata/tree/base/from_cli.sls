from_cli: yes
