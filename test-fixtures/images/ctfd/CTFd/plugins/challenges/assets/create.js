// standard challenge create script (CTFd stand-in)
