// standard challenge view script (CTFd stand-in)
