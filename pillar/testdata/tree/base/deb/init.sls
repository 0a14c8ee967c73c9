include:
  - .base
  - deb.keys:
      key: 'deb:keys'
      defaults:
        who: admin
deb:
  mirror: ftp.de.debian.org
