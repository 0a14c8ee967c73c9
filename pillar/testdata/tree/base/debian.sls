include:
  - deb
pkgs:
  - apt-transport-https
ports:
  https: 443
