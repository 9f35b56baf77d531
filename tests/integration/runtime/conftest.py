from tests.isolation import package_database, package_topics

database = package_database()  # this package's own database and topics (tests/isolation.py)
topics = package_topics()
