from kj_notify.domain.nearby import NearbyIndex, Person

CENTRE = (27.2389, 111.4677)


def test_finds_only_people_of_the_audience_within_the_radius() -> None:
    people = [
        Person("taxi-near", "taxi", 27.2389 + 0.004, 111.4677),  # ~445 m north
        Person("vol-near", "volunteer", 27.2389, 111.4677 + 0.004),  # ~395 m east
        Person("taxi-far", "taxi", 27.2389 + 0.02, 111.4677),  # ~2.2 km
    ]
    index = NearbyIndex(people)
    assert [p.recipient_id for p in index.within(*CENTRE, 1000, {"taxi"})] == ["taxi-near"]
    found = index.within(*CENTRE, 1000, {"taxi", "volunteer"})
    assert {p.recipient_id for p in found} == {"taxi-near", "vol-near"}
    assert {p.recipient_id for p in index.within(*CENTRE, 3000, {"taxi"})} == {
        "taxi-near",
        "taxi-far",
    }
    assert index.within(*CENTRE, 300, {"taxi", "volunteer"}) == []


def test_an_empty_registry_finds_nobody() -> None:
    assert NearbyIndex([]).within(*CENTRE, 5000, {"taxi"}) == []
