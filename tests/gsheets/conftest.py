import pytest

from sheetcrm.testing.fakesheets import FakeSheetsServer

from .fake import key_file


@pytest.fixture(scope="session")
def server():
    with FakeSheetsServer() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.admin.reset()
    return server


@pytest.fixture
def account(fake, tmp_path):
    info = fake.admin.service_account("sync-bot@crm-test.iam.gserviceaccount.com")
    return info, key_file(tmp_path, info)
