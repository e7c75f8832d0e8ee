"""Challenge types of the CTFd stand-in.

CHALLENGE_CLASSES maps a type name to a class; POST /api/v1/challenges
accepts only registered types. A class may define
    create(challenge_id, data)  store its own fields (e.g. a plugin table)
    read(challenge_id) -> dict  extra fields for the API answer
Like CTFd's built-in challenges plugin this directory is itself a plugin.
"""


class BaseChallenge:
    id = "standard"
    name = "standard"

    @staticmethod
    def create(challenge_id, data):
        return None

    @staticmethod
    def read(challenge_id):
        return {}


CHALLENGE_CLASSES = {"standard": BaseChallenge}


def load(app):
    return None
