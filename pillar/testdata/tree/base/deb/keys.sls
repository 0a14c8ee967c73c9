owner: {{ who }}
from: {{ sls }}
