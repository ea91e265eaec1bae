from .conftest import login


def test_login_and_home(testapp):
    res = login(testapp, "admin")
    home = res.follow()
    assert "Quản trị hệ thống" in home.text
