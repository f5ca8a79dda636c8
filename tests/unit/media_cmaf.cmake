# unit tests of media/cmaf
