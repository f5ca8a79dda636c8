# unit tests of media/ingest
