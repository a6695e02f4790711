"""Word lists and the product catalogue of the demo company (data, no logic).

Everything a generated name, title or note is built from lives here, so the generator
modules read as the story they tell and this file can be translated or extended alone.
Chinese words carry their pinyin where e-mail addresses are built from them.
"""

from __future__ import annotations

# -- geography -------------------------------------------------------------------------------
# region → (share of domestic accounts, [(city, pinyin), ...])
DOMESTIC_REGIONS: dict[str, tuple[float, list[tuple[str, str]]]] = {
    "华东": (0.38, [
        ("上海", "shanghai"), ("苏州", "suzhou"), ("无锡", "wuxi"), ("常州", "changzhou"),
        ("南京", "nanjing"), ("杭州", "hangzhou"), ("宁波", "ningbo"), ("温州", "wenzhou"),
        ("合肥", "hefei"), ("青岛", "qingdao"), ("济南", "jinan"), ("厦门", "xiamen"),
        ("嘉兴", "jiaxing"), ("昆山", "kunshan"), ("烟台", "yantai"),
    ]),
    "华南": (0.22, [
        ("深圳", "shenzhen"), ("广州", "guangzhou"), ("东莞", "dongguan"), ("佛山", "foshan"),
        ("中山", "zhongshan"), ("珠海", "zhuhai"), ("惠州", "huizhou"), ("南宁", "nanning"),
    ]),
    "华北": (0.12, [
        ("北京", "beijing"), ("天津", "tianjin"), ("石家庄", "shijiazhuang"),
        ("唐山", "tangshan"), ("太原", "taiyuan"), ("保定", "baoding"),
    ]),
    "华中": (0.10, [
        ("武汉", "wuhan"), ("长沙", "changsha"), ("郑州", "zhengzhou"), ("南昌", "nanchang"),
        ("襄阳", "xiangyang"), ("株洲", "zhuzhou"), ("洛阳", "luoyang"),
    ]),
    "西南": (0.08, [
        ("成都", "chengdu"), ("重庆", "chongqing"), ("昆明", "kunming"), ("贵阳", "guiyang"),
        ("绵阳", "mianyang"),
    ]),
    "西北": (0.04, [
        ("西安", "xian"), ("兰州", "lanzhou"), ("银川", "yinchuan"), ("宝鸡", "baoji"),
    ]),
    "东北": (0.06, [
        ("沈阳", "shenyang"), ("大连", "dalian"), ("长春", "changchun"),
        ("哈尔滨", "haerbin"), ("吉林", "jilin"),
    ]),
}  # fmt: skip

EXPORT_REGION = "海外"
# country → (share of export accounts, cities, company-name suffix)
EXPORT_COUNTRIES: dict[str, tuple[float, list[str], str]] = {
    "Vietnam": (0.30, ["Ho Chi Minh City", "Hanoi", "Hai Phong"], "Co., Ltd."),
    "Thailand": (0.22, ["Bangkok", "Rayong", "Chonburi"], "Co., Ltd."),
    "Indonesia": (0.14, ["Jakarta", "Surabaya"], "PT"),
    "India": (0.14, ["Pune", "Chennai", "Ahmedabad"], "Pvt. Ltd."),
    "Mexico": (0.10, ["Monterrey", "Querétaro"], "S.A. de C.V."),
    "Turkey": (0.10, ["Bursa", "Istanbul"], "A.Ş."),
}
DOMESTIC_COUNTRY = "China"

# team → regions it covers
TEAMS: dict[str, list[str]] = {
    "华东大客户部": ["华东"],
    "华南大客户部": ["华南"],
    "华北东北大客户部": ["华北", "东北"],
    "中西部大客户部": ["华中", "西南", "西北"],
    "海外业务部": [EXPORT_REGION],
}

# -- industries ------------------------------------------------------------------------------
# industry → (share, automation spend as a share of the customer's revenue,
#             [sub-industries], [name words], product-line affinity
#             (PLC, Drives, Servo, HMI, Sensors, Software))
INDUSTRIES: dict[str, tuple[float, float, list[str], list[str], list[float]]] = {
    "Auto parts": (0.17, 0.012, ["Powertrain", "Chassis", "Body & interior", "Auto electronics"],
                   ["汽车零部件", "汽车部件", "精密铸造", "汽车电子", "底盘系统"],
                   [1.0, 0.8, 1.4, 0.6, 1.2, 0.5]),
    "Electronics": (0.15, 0.010, ["Consumer electronics", "PCB & components", "Semiconductor",
                                  "Displays"],
                    ["电子科技", "光电科技", "精密电子", "半导体设备", "电路科技"],
                    [0.8, 0.4, 1.6, 0.7, 1.5, 0.7]),
    "Machinery": (0.17, 0.020, ["Machine tools", "Construction machinery", "Robotics",
                                "Textile machinery"],
                  ["精密机械", "机械制造", "重工", "机床", "智能装备"],
                  [1.4, 1.0, 1.3, 1.1, 0.8, 0.4]),
    "Packaging": (0.09, 0.016, ["Packaging machinery", "Paper & board", "Flexible packaging"],
                  ["包装机械", "包装材料", "印刷包装", "纸业"],
                  [1.1, 0.8, 1.5, 1.0, 1.0, 0.4]),
    "Food & beverage": (0.09, 0.008, ["Dairy", "Beverages", "Brewing", "Processed food"],
                        ["食品", "饮料", "乳业", "酿造"],
                        [1.2, 1.1, 0.6, 0.9, 1.0, 0.9]),
    "Chemicals": (0.08, 0.007, ["Fine chemicals", "Plastics", "Coatings"],
                  ["化工", "新材料", "精细化工", "塑胶"],
                  [1.3, 1.3, 0.3, 0.8, 0.9, 1.0]),
    "Energy equipment": (0.10, 0.014, ["Batteries", "Solar", "Power equipment", "Wind"],
                         ["电气", "新能源", "电力设备", "储能科技", "电池"],
                         [1.1, 1.2, 1.1, 0.7, 1.0, 0.9]),
    "Pharma & medical": (0.06, 0.009, ["Pharmaceuticals", "Medical devices"],
                         ["制药", "医疗器械", "生物科技"],
                         [1.0, 0.7, 0.8, 1.0, 1.1, 1.2]),
    "Metals & materials": (0.06, 0.006, ["Steel", "Aluminium", "Building materials"],
                           ["钢铁", "铝业", "建材", "特钢"],
                           [1.2, 1.6, 0.3, 0.7, 0.7, 0.8]),
    "Textiles": (0.03, 0.007, ["Spinning", "Synthetic fibres"],
                 ["纺织", "化纤"],
                 [0.9, 1.4, 0.8, 0.8, 0.8, 0.3]),
}  # fmt: skip

# the registry's industry (所属行业) per demo industry: the GB/T 4754-2017 division a
# Chinese registry export prints (in Chinese, whatever the report language)
REGISTRY_INDUSTRY: dict[str, str] = {
    "Auto parts": "汽车制造业",
    "Electronics": "计算机、通信和其他电子设备制造业",
    "Machinery": "通用设备制造业",
    "Packaging": "造纸和纸制品业",
    "Food & beverage": "食品制造业",
    "Chemicals": "化学原料和化学制品制造业",
    "Energy equipment": "电气机械和器材制造业",
    "Pharma & medical": "医药制造业",
    "Metals & materials": "黑色金属冶炼和压延加工业",
    "Textiles": "纺织业",
}

# English name words per industry, for export and foreign-invested accounts
INDUSTRY_WORDS_EN: dict[str, list[str]] = {
    "Auto parts": ["Auto Components", "Automotive Parts", "Precision Castings"],
    "Electronics": ["Electronics", "Optoelectronics", "Circuit Technology"],
    "Machinery": ["Precision Machinery", "Machine Works", "Industrial Equipment"],
    "Packaging": ["Packaging", "Packaging Machinery", "Paper Products"],
    "Food & beverage": ["Foods", "Beverages", "Dairy"],
    "Chemicals": ["Chemicals", "Advanced Materials", "Plastics"],
    "Energy equipment": ["Power Systems", "New Energy", "Electrical"],
    "Pharma & medical": ["Pharmaceuticals", "Medical Devices"],
    "Metals & materials": ["Steel", "Aluminium", "Building Materials"],
    "Textiles": ["Textiles", "Fibres"],
}

# -- company names ---------------------------------------------------------------------------
# two-character brand names are drawn as first × second character
BRAND_FIRST = [
    ("恒", "heng"), ("华", "hua"), ("瑞", "rui"), ("鼎", "ding"), ("宏", "hong"), ("金", "jin"),
    ("天", "tian"), ("新", "xin"), ("博", "bo"), ("汇", "hui"), ("中", "zhong"), ("永", "yong"),
    ("凯", "kai"), ("盛", "sheng"), ("伟", "wei"), ("海", "hai"), ("东", "dong"), ("兆", "zhao"),
    ("鑫", "xin"), ("德", "de"), ("科", "ke"), ("嘉", "jia"), ("联", "lian"), ("泰", "tai"),
    ("信", "xin"), ("安", "an"), ("万", "wan"), ("富", "fu"), ("宇", "yu"), ("星", "xing"),
    ("创", "chuang"), ("远", "yuan"), ("长", "chang"), ("正", "zheng"), ("佳", "jia"),
    ("同", "tong"),
]  # fmt: skip
BRAND_SECOND = [
    ("力", "li"), ("锐", "rui"), ("丰", "feng"), ("盛", "sheng"), ("达", "da"), ("桥", "qiao"),
    ("成", "cheng"), ("宇", "yu"), ("远", "yuan"), ("通", "tong"), ("晟", "sheng"),
    ("信", "xin"), ("德", "de"), ("泰", "tai"), ("创", "chuang"), ("源", "yuan"),
    ("诚", "cheng"), ("隆", "long"), ("邦", "bang"), ("实", "shi"), ("美", "mei"),
    ("合", "he"), ("光", "guang"), ("辉", "hui"), ("特", "te"), ("康", "kang"), ("利", "li"),
    ("威", "wei"), ("航", "hang"), ("基", "ji"), ("昌", "chang"), ("润", "run"),
]  # fmt: skip
BRAND_EN = [
    "Apex", "Summit", "Pioneer", "Pacific", "Sterling", "Nova", "Vertex", "Atlas", "Orion",
    "Meridian", "Crown", "Harbor", "Evergreen", "Golden Lotus", "Sunrise", "Kingsway",
    "Titan", "Unity", "Zenith", "Lotus", "Mekong", "Siam", "Garuda", "Anatolia", "Sierra",
]  # fmt: skip
FOREIGN_BRANDS = [
    "Hanwei", "Kessler", "Nordtek", "Mahle-Kraft", "Tokai Seiki", "Daiwa Precision",
    "Lindqvist", "Brennan", "Hoffmann", "Sato Industries", "Kyoshin", "Vantech",
]  # fmt: skip
SUFFIX_LIMITED = "有限公司"
SUFFIX_SHARES = "股份有限公司"
GROUP_SUFFIXES = ["集团有限公司", "控股集团有限公司", "集团股份有限公司"]

# -- people ----------------------------------------------------------------------------------
SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("袁", "yuan"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"),
]  # fmt: skip
GIVEN_CHARS = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("强", "qiang"),
    ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"), ("霞", "xia"), ("平", "ping"),
    ("刚", "gang"), ("桂", "gui"), ("建", "jian"), ("华", "hua"), ("飞", "fei"), ("鹏", "peng"),
    ("辉", "hui"), ("波", "bo"), ("宁", "ning"), ("晨", "chen"), ("浩", "hao"), ("雪", "xue"),
    ("琳", "lin"), ("斌", "bin"), ("凯", "kai"), ("峰", "feng"), ("丹", "dan"), ("玲", "ling"),
    ("志", "zhi"), ("国", "guo"), ("文", "wen"), ("海", "hai"),
]  # fmt: skip
FIRST_NAMES_EN = [
    "Anh", "Minh", "Somchai", "Niran", "Budi", "Dewi", "Rahul", "Priya", "Carlos", "Lucía",
    "Mehmet", "Ayşe", "Thanh", "Arjun", "Sofia", "Emre", "Kiet", "Ploy",
]  # fmt: skip
LAST_NAMES_EN = [
    "Nguyen", "Tran", "Pham", "Wongsakul", "Siriwan", "Santoso", "Wijaya", "Sharma", "Patel",
    "García", "Hernández", "Yılmaz", "Kaya", "Le", "Iyer", "Morales",
]  # fmt: skip

# buying role → (share of contacts, [(title, department)], influence range)
CONTACT_ROLES: dict[str, tuple[float, list[tuple[str, str]], tuple[int, int]]] = {
    "economic": (0.14, [("总经理", "总经办"), ("副总经理", "总经办"), ("厂长", "生产部"),
                        ("采购总监", "采购部"), ("财务总监", "财务部")], (4, 5)),
    "technical": (0.27, [("技术总监", "技术部"), ("设备部经理", "设备部"),
                         ("电气工程师", "技术部"), ("自动化工程师", "设备部"),
                         ("研发经理", "研发中心")], (2, 4)),
    "user": (0.22, [("生产经理", "生产部"), ("车间主任", "生产部"), ("维修主管", "设备部"),
                    ("工艺工程师", "工艺部")], (1, 3)),
    "coach": (0.10, [("项目经理", "项目部"), ("设备工程师", "设备部"), ("IT经理", "信息部")],
              (2, 3)),
    "gatekeeper": (0.20, [("采购经理", "采购部"), ("采购专员", "采购部"),
                          ("总经理助理", "总经办")], (2, 4)),
    "other": (0.07, [("质量经理", "质量部"), ("EHS经理", "EHS部"), ("物流主管", "物流部")],
              (1, 2)),
}  # fmt: skip
BUSINESS_CHALLENGES = [
    "产线自动化升级，减少人工", "招工难、人工成本上升", "提高产品良率", "缩短交付周期",
    "降低能耗，达成双碳目标", "国产化替代，降低供应链风险", "数字化工厂/MES建设",
    "设备老化，停机时间长", "新产线扩产", "出口订单增长，产能不足", "质量追溯要求提高",
    "预算收紧，控制资本开支", "多品种小批量，换型频繁", "备件库存积压",
]  # fmt: skip

# -- what we sell ----------------------------------------------------------------------------
# product line → (business unit, base gross margin at list price)
PRODUCT_LINES: dict[str, tuple[str, float]] = {
    "PLC": ("Factory Automation", 0.50),
    "Drives": ("Motion Control", 0.40),
    "Servo Motors": ("Motion Control", 0.42),
    "HMI": ("Factory Automation", 0.45),
    "Sensors": ("Sensing", 0.55),
    "Industrial Software & Services": ("Digital Services", 0.65),
}


def product_catalogue() -> list[tuple[str, str, str, str, float, float]]:
    """Rows ``(product_id, name, product_line, series, list_price, popularity)``."""
    rows: list[tuple[str, str, str, str, float, float]] = []
    # PLC: three series, six components each
    plc_series = {"S20": (1.0, 1.0), "M50": (2.4, 0.7), "H90": (6.0, 0.25)}
    plc_parts = [
        ("CPU", "CPU 模块", 1800.0, 1.0), ("DI16", "16点数字量输入模块", 520.0, 1.6),
        ("DO16", "16点数字量输出模块", 560.0, 1.5), ("AI8", "8通道模拟量输入模块", 1400.0, 0.8),
        ("ETH", "以太网通讯模块", 1900.0, 0.6), ("PS", "电源模块", 700.0, 0.7),
    ]  # fmt: skip
    for series, (factor, pop) in plc_series.items():
        for code, label, price, p in plc_parts:
            rows.append(
                (f"{series}-{code}", f"{series} {label}", "PLC", series, price * factor, pop * p)
            )
    # Drives: general-purpose and vector drives by rated power (kW)
    for series, kws, factor, pop in (
        ("VD100", [0.75, 2.2, 5.5, 11.0, 22.0], 1.0, 1.0),
        ("VD300", [5.5, 15.0, 45.0, 90.0, 160.0], 1.5, 0.45),
    ):
        for i, kw in enumerate(kws):
            code = f"{kw:g}".replace(".", "R")
            price = (900.0 + 420.0 * kw**0.92) * factor
            rows.append(
                (f"{series}-{code}", f"{series} 变频器 {kw:g}kW", "Drives", series, price,
                 pop / (1.0 + 0.35 * i))
            )  # fmt: skip
    # Servo: motor and drive pairs by power (kW)
    for series, factor, pop in (("SV5", 1.0, 1.0), ("SV8", 1.45, 0.4)):
        for i, kw in enumerate([0.1, 0.4, 0.75, 1.5, 3.0, 7.5]):
            code = f"{int(kw * 1000):04d}"
            weight = pop / (1.0 + 0.25 * abs(i - 2))
            rows.append(
                (f"{series}-M{code}", f"{series} 伺服电机 {kw:g}kW", "Servo Motors", series,
                 (700.0 + 1500.0 * kw) * factor, weight)
            )  # fmt: skip
            rows.append(
                (f"{series}-D{code}", f"{series} 伺服驱动器 {kw:g}kW", "Servo Motors", series,
                 (1100.0 + 1250.0 * kw) * factor, weight)
            )  # fmt: skip
    # HMI
    for pid, name, series, price, pop in (
        ("HP-07", "HP 7英寸触摸屏", "HP", 1500.0, 1.0), ("HP-10", "HP 10英寸触摸屏", "HP", 2600.0, 0.9),
        ("HP-15", "HP 15英寸触摸屏", "HP", 4800.0, 0.4), ("HX-10", "HX 10英寸工业平板", "HX", 5200.0, 0.3),
        ("HX-15", "HX 15英寸工业平板", "HX", 8200.0, 0.25), ("HX-21", "HX 21英寸工业平板", "HX", 12500.0, 0.12),
    ):  # fmt: skip
        rows.append((pid, name, "HMI", series, price, pop))
    # Sensors
    for pid, name, series, price, pop in (
        ("PE-101", "对射型光电传感器", "PE", 180.0, 1.0), ("PE-201", "漫反射光电传感器", "PE", 150.0, 1.2),
        ("PE-301", "背景抑制光电传感器", "PE", 420.0, 0.6), ("PX-12", "M12 电感式接近开关", "PX", 85.0, 1.5),
        ("PX-18", "M18 电感式接近开关", "PX", 110.0, 1.1), ("PX-30", "M30 电感式接近开关", "PX", 160.0, 0.6),
        ("LD-50", "激光位移传感器 50mm", "LD", 3200.0, 0.25), ("LD-200", "激光位移传感器 200mm", "LD", 5800.0, 0.12),
        ("VS-1", "视觉传感器 标准型", "VS", 6500.0, 0.15), ("VS-3", "视觉传感器 高速型", "VS", 14800.0, 0.06),
        ("EN-1024", "增量式编码器 1024线", "EN", 420.0, 0.5), ("EN-ABS", "绝对值编码器", "EN", 1150.0, 0.3),
    ):  # fmt: skip
        rows.append((pid, name, "Sensors", series, price, pop))
    # Software and services
    for pid, name, series, price, pop in (
        ("SW-SCADA-S", "SCADA 软件授权 标准版", "SCADA", 15000.0, 0.6),
        ("SW-SCADA-E", "SCADA 软件授权 企业版", "SCADA", 78000.0, 0.15),
        ("SW-MES", "MES 生产执行模块", "MES", 150000.0, 0.05),
        ("SV-COMM", "现场调试服务 (人天)", "Service", 3000.0, 1.0),
        ("SV-TRAIN", "培训服务 (人天)", "Service", 5000.0, 0.35),
        ("SV-AMC", "年度维保合同", "Service", 20000.0, 0.3),
        ("SV-REMOTE", "远程监控订阅 (年)", "Cloud", 12000.0, 0.25),
        ("SV-SPARE", "备件服务包", "Service", 8000.0, 0.3),
    ):  # fmt: skip
        rows.append((pid, name, "Industrial Software & Services", series, price, pop))
    return rows


CHANNELS = ["direct", "distributor", "system_integrator", "online"]

# -- pipeline ---------------------------------------------------------------------------------
OPEN_STAGES = ["lead", "qualified", "requirement_confirmed", "solution", "quote", "negotiation"]
# nominal days spent in each open stage
STAGE_DAYS = [12.0, 16.0, 22.0, 30.0, 20.0, 14.0]
# share of the attrition of a deal that happens when leaving each open stage
STAGE_ATTRITION = [0.28, 0.24, 0.18, 0.13, 0.10, 0.07]
OPPORTUNITY_SOURCES = [
    "customer_request", "account_manager", "marketing", "partner", "tender",
    "joint_business_meeting",
]  # fmt: skip
LOST_REASONS = [
    "price", "competitor_relationship", "technical_fit", "delivery_time", "budget_cut",
    "project_cancelled", "no_decision",
]  # fmt: skip
# product line → competitors met on its deals
COMPETITORS: dict[str, list[str]] = {
    "PLC": ["Siemens", "Mitsubishi Electric", "Omron", "Inovance", "Rockwell"],
    "Drives": ["ABB", "Siemens", "Inovance", "Danfoss", "Schneider Electric"],
    "Servo Motors": ["Yaskawa", "Panasonic", "Inovance", "Delta", "Mitsubishi Electric"],
    "HMI": ["Siemens", "Weintek", "Delta", "Schneider Electric"],
    "Sensors": ["Keyence", "SICK", "Omron", "Pepperl+Fuchs"],
    "Industrial Software & Services": ["Siemens", "Hollysys", "Supcon", "Rockwell"],
}
OPPORTUNITY_NAME_WORDS: dict[str, list[str]] = {
    "PLC": ["产线控制系统改造", "新产线 PLC 标准化", "老旧 PLC 替换", "控制系统扩容"],
    "Drives": ["风机水泵节能改造", "变频器批量替换", "新厂房动力系统", "输送线调速升级"],
    "Servo Motors": ["装配线伺服升级", "包装机伺服配套", "机器人工作站伺服", "高速贴装设备伺服"],
    "HMI": ["人机界面统一升级", "设备操作屏更换", "车间可视化看板"],
    "Sensors": ["检测工位传感器", "视觉检测项目", "安全光幕与传感器", "质量追溯检测"],
    "Industrial Software & Services": ["MES 一期", "SCADA 平台建设", "远程运维服务", "年度维保框架",
                                        "数字化工厂咨询"],
}  # fmt: skip

# -- engagement, service, plans ---------------------------------------------------------------
ACTIVITY_NOTES: dict[str, list[str]] = {
    "visit": ["拜访设备部，了解产线改造计划", "现场勘查，收集技术需求", "拜访采购，沟通年度框架",
              "陪同技术支持现场解决问题"],
    "call": ["电话跟进报价反馈", "电话确认交期", "电话沟通技术方案细节", "跟进付款进度"],
    "meeting": ["技术交流会", "方案评审会", "商务谈判会议", "新产品推介会"],
    "joint_business_meeting": ["联合经营会议：对齐年度目标与联合商机", "联合经营会议：回顾合作与改进项"],
    "qbr": ["季度业务回顾(QBR)", "季度业务回顾：服务与交付复盘"],
    "email": ["发送技术资料", "发送报价单", "发送会议纪要", "发送样品测试报告"],
}  # fmt: skip
# ticket category → (department that handles it, share of tickets)
TICKET_CATEGORIES: dict[str, tuple[str, float]] = {
    "设备故障": ("售后服务部", 0.34),
    "技术咨询": ("技术支持部", 0.24),
    "交付延迟": ("物流部", 0.14),
    "质量投诉": ("质量部", 0.10),
    "备件需求": ("售后服务部", 0.10),
    "发票/对账": ("财务部", 0.05),
    "软件授权": ("技术支持部", 0.03),
}
# priority → (share, SLA response hours, SLA resolution hours)
PRIORITY_SLA: dict[str, tuple[float, float, float]] = {
    "p1": (0.06, 2.0, 24.0),
    "p2": (0.20, 4.0, 72.0),
    "p3": (0.44, 8.0, 120.0),
    "p4": (0.30, 24.0, 240.0),
}
PLAN_ITEMS: dict[str, list[str]] = {
    "success_plan": ["制定{line}产线升级路线图", "完成{line}试用与验收", "推动年度框架协议续签",
                     "建立备件寄售库存", "联合制定节能改造方案"],
    "joint_meeting_action": ["落实联合经营会议行动项：交期改善", "落实联合经营会议行动项：技术培训",
                             "落实联合经营会议行动项：联合商机清单"],
    "relationship": ["安排高层互访", "建立与采购总监的定期沟通", "邀请客户参加技术研讨会"],
    "cross_sell": ["导入{line}产品试用", "提交{line}替换方案"],
}  # fmt: skip
OBJECTIVES: dict[str, str] = {
    "revenue": "大客户营收增长 / Grow key-account revenue",
    "bookings": "提高赢单额 / Win more of the pipeline",
    "new_opportunities": "挖掘新商机 / Mine new opportunities",
    "share_of_wallet": "提升钱包份额 / Raise share of wallet",
}

# -- the sales process: notes on competitors met on deals ------------------------------------
COMPETITOR_NOTES = [
    "incumbent supplier", "aggressive on price", "strong local service team",
    "offered a free trial", "close to the plant manager", "long delivery time quoted",
    "现有供应商", "价格战", "本地服务强", "与设备部关系深厚", "交期长",
]  # fmt: skip
