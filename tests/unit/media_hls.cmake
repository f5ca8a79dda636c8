# unit tests of media/hls
