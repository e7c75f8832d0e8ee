"""Flag types of the CTFd stand-in (CTFd 3.8.7's FLAG_CLASSES): `static`
(exact, or any case with data "case_insensitive") and `regex` (the whole
submission must match; data "case_insensitive" ignores case). A bad regex
raises FlagException, which the attempt answers as incorrect with its text."""
import hmac
import re

from CTFd.plugins import register_plugin_assets_directory


class FlagException(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class BaseFlag:
    name = None
    templates = {}

    @staticmethod
    def compare(flag, provided):
        return True


class CTFdStaticFlag(BaseFlag):
    name = "static"
    templates = {
        "create": "/plugins/flags/assets/static/create.html",
        "update": "/plugins/flags/assets/static/edit.html",
    }

    @staticmethod
    def compare(flag, provided):
        saved = flag.content or ""
        if flag.data == "case_insensitive":
            saved, provided = saved.lower(), provided.lower()
        return len(saved) == len(provided) and hmac.compare_digest(saved.encode(), provided.encode())


class CTFdRegexFlag(BaseFlag):
    name = "regex"
    templates = {
        "create": "/plugins/flags/assets/regex/create.html",
        "update": "/plugins/flags/assets/regex/edit.html",
    }

    @staticmethod
    def compare(flag, provided):
        flags = re.IGNORECASE if flag.data == "case_insensitive" else 0
        try:
            match = re.match(flag.content, provided, flags)
        except re.error as err:
            raise FlagException("Regex parse error occured") from err
        return bool(match) and match.group() == provided


FLAG_CLASSES = {"static": CTFdStaticFlag, "regex": CTFdRegexFlag}


def get_flag_class(class_id):
    cls = FLAG_CLASSES.get(class_id)
    if cls is None:
        raise KeyError(class_id)
    return cls


def load(app):
    register_plugin_assets_directory(app, base_path="/plugins/flags/assets/")
