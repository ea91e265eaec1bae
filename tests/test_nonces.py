"""The register of one-time values of signed calls (``resources.nonces``, ``services.nonces``)."""

from lienthong.core.resources.folder import Folder
from lienthong.core.resources.nonces import NonceRegister
from lienthong.core.services import nonces

from .support.app import login, with_site
from .support.demo import demo_factory, web  # noqa: F401  (fixtures)


def test_a_value_is_refused_within_its_window_and_forgotten_after_it():
    register = NonceRegister()
    assert register.use("peer:a", "n1", until=1300, now=1000)
    assert not register.use("peer:a", "n1", until=1400, now=1100)  # a replay
    assert register.use("peer:b", "n1", until=1300, now=1100)  # another scope's own value
    assert register.use("peer:a", "n1", until=1700, now=1301)  # its window is over
    assert register.count() == 2  # the same value again is one entry


def test_old_values_go_a_generation_at_a_time_and_none_is_forgotten_early():
    register = NonceRegister()
    for i in range(50):
        assert register.use("vxp", f"v{i}", until=i * 10 + 600, now=i * 10)
    # every value is still refused within its own window, across the generations
    for i in range(50):
        assert not register.use("vxp", f"v{i}", until=9999, now=i * 10 + 599)
    assert register.count() <= 50
    register.use("vxp", "late", until=10_000 + 600, now=10_000)  # long after: the old ones are dropped
    register.use("vxp", "later", until=10_700 + 600, now=10_700)
    assert register.count() == 2


def test_the_service_makes_the_register_on_first_use():
    site = Folder()
    assert nonces.use(site, "peer:a", "x", window=300, now=1000)
    assert not nonces.use(site, "peer:a", "x", window=300, now=1500)  # within 2 × 300 s
    assert nonces.use(site, "peer:a", "x", window=300, now=1601)
    assert site["nonces"].count() >= 1


def test_nobody_reads_the_register_over_the_web(web):  # noqa: F811
    with_site(web.app, lambda site: nonces.use(site, "peer:a", "x", window=300))
    assert web.get("/nonces", status="*").status_int in (401, 403, 404)
    login(web, "admin")
    assert web.get("/nonces", status="*").status_int in (403, 404)
