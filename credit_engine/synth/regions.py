"""Heilongjiang administrative divisions used to place synthetic entities and persons.

Codes are real GB/T 2260 county codes, so USCC region parts, authority names, court case
numbers and resident-ID birthplaces look like the province's own data. Weights are rough
population sizes (10 000 people), with city districts counted double because businesses
concentrate there; they only need to give a plausible spread, not census accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: City prefix (first four digits) -> (city name, one-character abbreviation used in 文书号).
CITIES: dict[str, tuple[str, str]] = {
    "2301": ("哈尔滨市", "哈"),
    "2302": ("齐齐哈尔市", "齐"),
    "2303": ("鸡西市", "鸡"),
    "2304": ("鹤岗市", "鹤"),
    "2305": ("双鸭山市", "双"),
    "2306": ("大庆市", "庆"),
    "2307": ("伊春市", "伊"),
    "2308": ("佳木斯市", "佳"),
    "2309": ("七台河市", "七"),
    "2310": ("牡丹江市", "牡"),
    "2311": ("黑河市", "黑"),
    "2312": ("绥化市", "绥"),
    "2327": ("大兴安岭地区", "兴"),
}

# (code, name, weight). Code xx00 stands for the city-level authority itself.
_COUNTIES: tuple[tuple[str, str, float], ...] = (
    ("230100", "", 60),
    ("230102", "道里区", 160),
    ("230103", "南岗区", 220),
    ("230104", "道外区", 140),
    ("230108", "平房区", 40),
    ("230109", "松北区", 60),
    ("230110", "香坊区", 160),
    ("230111", "呼兰区", 60),
    ("230112", "阿城区", 55),
    ("230113", "双城区", 75),
    ("230123", "依兰县", 35),
    ("230124", "方正县", 20),
    ("230125", "宾县", 55),
    ("230126", "巴彦县", 60),
    ("230127", "木兰县", 25),
    ("230128", "通河县", 22),
    ("230129", "延寿县", 25),
    ("230183", "尚志市", 55),
    ("230184", "五常市", 85),
    ("230200", "", 20),
    ("230202", "龙沙区", 70),
    ("230203", "建华区", 60),
    ("230204", "铁锋区", 60),
    ("230205", "昂昂溪区", 10),
    ("230206", "富拉尔基区", 25),
    ("230207", "碾子山区", 6),
    ("230208", "梅里斯达斡尔族区", 17),
    ("230221", "龙江县", 55),
    ("230223", "依安县", 45),
    ("230224", "泰来县", 30),
    ("230225", "甘南县", 35),
    ("230227", "富裕县", 28),
    ("230229", "克山县", 40),
    ("230230", "克东县", 25),
    ("230231", "拜泉县", 50),
    ("230281", "讷河市", 60),
    ("230300", "", 8),
    ("230302", "鸡冠区", 40),
    ("230303", "恒山区", 14),
    ("230304", "滴道区", 10),
    ("230305", "梨树区", 6),
    ("230306", "城子河区", 12),
    ("230307", "麻山区", 3),
    ("230321", "鸡东县", 27),
    ("230381", "虎林市", 30),
    ("230382", "密山市", 40),
    ("230400", "", 6),
    ("230402", "向阳区", 16),
    ("230403", "工农区", 16),
    ("230404", "南山区", 14),
    ("230405", "兴安区", 8),
    ("230406", "东山区", 10),
    ("230407", "兴山区", 4),
    ("230421", "萝北县", 20),
    ("230422", "绥滨县", 18),
    ("230500", "", 6),
    ("230502", "尖山区", 30),
    ("230503", "岭东区", 6),
    ("230505", "四方台区", 8),
    ("230506", "宝山区", 14),
    ("230521", "集贤县", 30),
    ("230522", "友谊县", 10),
    ("230523", "宝清县", 40),
    ("230524", "饶河县", 12),
    ("230600", "", 30),
    ("230602", "萨尔图区", 70),
    ("230603", "龙凤区", 50),
    ("230604", "让胡路区", 70),
    ("230605", "红岗区", 30),
    ("230606", "大同区", 25),
    ("230621", "肇州县", 40),
    ("230622", "肇源县", 40),
    ("230623", "林甸县", 25),
    ("230624", "杜尔伯特蒙古族自治县", 25),
    ("230700", "", 6),
    ("230717", "伊美区", 20),
    ("230718", "乌翠区", 8),
    ("230719", "友好区", 6),
    ("230722", "嘉荫县", 7),
    ("230723", "汤旺县", 4),
    ("230724", "丰林县", 6),
    ("230725", "大箐山县", 3),
    ("230726", "南岔县", 6),
    ("230751", "金林区", 5),
    ("230781", "铁力市", 30),
    ("230800", "", 15),
    ("230803", "向阳区", 40),
    ("230804", "前进区", 40),
    ("230805", "东风区", 25),
    ("230811", "郊区", 30),
    ("230822", "桦南县", 45),
    ("230826", "桦川县", 22),
    ("230828", "汤原县", 25),
    ("230881", "同江市", 20),
    ("230882", "富锦市", 45),
    ("230883", "抚远市", 12),
    ("230900", "", 6),
    ("230902", "新兴区", 30),
    ("230903", "桃山区", 20),
    ("230904", "茄子河区", 12),
    ("230921", "勃利县", 30),
    ("231000", "", 20),
    ("231002", "东安区", 40),
    ("231003", "阳明区", 40),
    ("231004", "爱民区", 45),
    ("231005", "西安区", 45),
    ("231025", "林口县", 35),
    ("231081", "绥芬河市", 25),
    ("231083", "海林市", 40),
    ("231084", "宁安市", 40),
    ("231085", "穆棱市", 30),
    ("231086", "东宁市", 25),
    ("231100", "", 6),
    ("231102", "爱辉区", 30),
    ("231123", "逊克县", 10),
    ("231124", "孙吴县", 10),
    ("231181", "北安市", 40),
    ("231182", "五大连池市", 30),
    ("231183", "嫩江市", 45),
    ("231200", "", 10),
    ("231202", "北林区", 90),
    ("231221", "望奎县", 45),
    ("231222", "兰西县", 45),
    ("231223", "青冈县", 45),
    ("231224", "庆安县", 40),
    ("231225", "明水县", 35),
    ("231226", "绥棱县", 30),
    ("231281", "安达市", 50),
    ("231282", "肇东市", 90),
    ("231283", "海伦市", 70),
    ("232700", "", 3),
    ("232701", "漠河市", 8),
    ("232721", "呼玛县", 5),
    ("232722", "塔河县", 9),
)

#: Region of the legal early Xiamen pilot codes (defect 5).
PILOT_REGION = "350211"

# Birthplace codes for resident IDs, by era: codes valid for births from 1983 on, and codes
# (mostly prefectures since abolished) valid for earlier births. Outsiders come from
# neighbouring provinces. Every generated ID is still checked with python-stdnum.
PERSON_REGIONS_MODERN: tuple[tuple[str, float], ...] = tuple(
    (code, w) for code, name, w in _COUNTIES if name and code[:4] not in ("2307", "2327")
) + (
    ("230702", 20),
    ("230781", 10),
    ("232721", 5),
    ("220102", 20),
    ("210102", 15),
    ("370102", 10),
    ("410102", 8),
    ("150102", 6),
)
PERSON_REGIONS_LEGACY: tuple[tuple[str, float], ...] = (
    ("230100", 300),
    ("230200", 120),
    ("230300", 50),
    ("230400", 35),
    ("230500", 35),
    ("230600", 90),
    ("230700", 40),
    ("230722", 8),
    ("232126", 40),
    ("232127", 20),
    ("232128", 18),
    ("232131", 20),
    ("232300", 60),
    ("232324", 30),
    ("232325", 30),
    ("232326", 30),
    ("232330", 30),
    ("232331", 25),
    ("232332", 20),
    ("232622", 30),
    ("232700", 10),
    ("232721", 5),
    ("220100", 40),
    ("210100", 30),
    ("370100", 20),
)
#: Always-valid fallback birthplace (哈尔滨市 has no date range in the code table).
PERSON_REGION_FALLBACK = "230100"


@dataclass(frozen=True)
class RegionTable:
    """Column arrays over the county list, indexed by a region number."""

    code: np.ndarray  # 6-digit code strings
    city: np.ndarray  # city name
    county: np.ndarray  # county name ("" for the city-level authority)
    abbrev: np.ndarray  # 文书号 prefix, unique per region
    authority: np.ndarray  # 市场监督管理局 name
    court: np.ndarray  # basic court name
    court_code: np.ndarray  # 案号 court code, e.g. 黑0102
    weight: np.ndarray  # sampling probability


def _authority_stem(city: str, county: str) -> str:
    """A district's authorities carry the city name; counties and county-level cities do not."""
    if not county:
        return city
    return city + county if county.endswith("区") else county


def region_table() -> RegionTable:
    """Build the region arrays (pure; cheap enough to call per synthesis)."""
    codes, cities, counties, abbrevs, auths, courts, court_codes, weights = ([] for _ in range(8))
    for code, county, weight in _COUNTIES:
        city, city_abbrev = CITIES[code[:4]]
        stem = _authority_stem(city, county)
        codes.append(code)
        cities.append(city)
        counties.append(county)
        abbrevs.append(city_abbrev + (county[:2] if county else "市"))
        auths.append(stem + "市场监督管理局")
        courts.append(stem + ("中级人民法院" if not county else "人民法院"))
        court_codes.append("黑" + (code[2:4] if not county else code[2:6]))
        weights.append(weight * (2.0 if county.endswith("区") or not county else 1.0))
    w = np.asarray(weights, dtype=float)
    return RegionTable(
        code=np.asarray(codes, dtype=object),
        city=np.asarray(cities, dtype=object),
        county=np.asarray(counties, dtype=object),
        abbrev=np.asarray(abbrevs, dtype=object),
        authority=np.asarray(auths, dtype=object),
        court=np.asarray(courts, dtype=object),
        court_code=np.asarray(court_codes, dtype=object),
        weight=w / w.sum(),
    )
