// standard challenge update script (CTFd stand-in)
