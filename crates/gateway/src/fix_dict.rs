//! Field types of the FIX 4.4 data dictionary (QuickFIX's `FIX44.xml`), for session-level
//! checks: value formats of integer-like fields (INT, NUMINGROUP, SEQNUM, LENGTH), decimal
//! fields (QTY, PRICE, PRICEOFFSET, AMT, PERCENTAGE, FLOAT), UTCTIMESTAMP, CHAR and BOOLEAN
//! fields; the value lists of enumerated fields; the NumInGroup counters; and the required
//! body fields of the message types the acceptance-test echo application answers. Tag lists
//! are sorted; lookups are binary searches.

/// Integer-valued tags (INT, NUMINGROUP, SEQNUM, LENGTH).
pub const INT_TAGS: &[u32] = &[
    7, 9, 16, 33, 34, 36, 45, 67, 68, 73, 74, 78, 82, 83, 85, 87, 88, 90, 93, 95, 98, 102, 103,
    108, 124, 136, 146, 157, 169, 172, 197, 199, 201, 203, 209, 212, 215, 216, 226, 232, 239, 243,
    244, 250, 251, 264, 265, 267, 268, 287, 290, 295, 296, 297, 298, 300, 301, 303, 304, 315, 321,
    323, 326, 334, 338, 339, 340, 346, 348, 350, 352, 354, 356, 358, 360, 362, 364, 368, 369, 371,
    373, 378, 380, 382, 383, 384, 386, 393, 394, 395, 398, 399, 401, 409, 414, 415, 416, 417, 420,
    422, 423, 427, 428, 429, 430, 431, 441, 445, 452, 453, 454, 457, 460, 462, 465, 473, 477, 487,
    492, 495, 507, 510, 518, 519, 522, 533, 534, 537, 538, 539, 549, 550, 552, 555, 557, 558, 559,
    560, 563, 565, 567, 569, 576, 577, 580, 581, 582, 585, 604, 607, 618, 621, 626, 627, 630, 638,
    658, 660, 661, 663, 665, 666, 668, 670, 680, 683, 686, 690, 692, 694, 698, 702, 706, 709, 711,
    712, 718, 722, 723, 724, 725, 727, 728, 729, 731, 733, 735, 748, 749, 750, 751, 752, 753, 768,
    770, 773, 774, 775, 776, 778, 780, 781, 784, 786, 788, 789, 792, 794, 796, 798, 801, 802, 803,
    804, 805, 808, 812, 813, 814, 815, 816, 819, 826, 827, 828, 829, 832, 835, 836, 837, 838, 840,
    841, 842, 843, 844, 846, 847, 851, 853, 854, 855, 856, 857, 862, 864, 865, 870, 871, 875, 887,
    891, 892, 895, 896, 897, 903, 905, 906, 910, 911, 919, 924, 926, 928, 935, 936, 937, 938, 939,
    940, 944, 945, 946,
];

/// Single-character tags (CHAR).
pub const CHAR_TAGS: &[u32] = &[
    4, 13, 21, 25, 28, 29, 39, 40, 54, 59, 61, 63, 71, 77, 81, 94, 104, 127, 139, 150, 156, 160,
    163, 165, 206, 263, 269, 274, 279, 281, 285, 317, 327, 374, 385, 388, 418, 419, 433, 434, 442,
    447, 468, 480, 481, 484, 497, 506, 514, 517, 525, 528, 530, 531, 532, 544, 564, 573, 587, 589,
    590, 591, 613, 624, 695, 744, 747, 783, 787,
];

/// Y/N tags (BOOLEAN).
pub const BOOLEAN_TAGS: &[u32] = &[
    43, 97, 113, 114, 121, 123, 130, 141, 208, 258, 266, 325, 328, 329, 377, 411, 464, 547, 570,
    575, 636, 650, 700, 719, 720, 754, 797, 852, 893, 912,
];

/// NumInGroup counters (repeating group sizes).
pub const NUM_IN_GROUP_TAGS: &[u32] = &[
    33, 73, 78, 82, 85, 124, 136, 146, 199, 215, 232, 267, 268, 295, 296, 382, 384, 386, 398, 420,
    428, 453, 454, 457, 473, 510, 518, 539, 552, 555, 558, 604, 627, 670, 683, 702, 711, 735, 753,
    768, 778, 781, 801, 802, 804, 816, 862, 864, 870, 887, 897, 936, 938,
];

/// Decimal-valued tags (QTY, PRICE, PRICEOFFSET, AMT, PERCENTAGE, FLOAT).
pub const DECIMAL_TAGS: &[u32] = &[
    6, 12, 14, 31, 32, 38, 44, 53, 80, 84, 99, 110, 111, 118, 119, 132, 133, 134, 135, 137, 140,
    151, 152, 153, 154, 155, 158, 159, 188, 189, 190, 191, 192, 194, 195, 202, 210, 211, 218, 223,
    227, 228, 231, 236, 237, 238, 245, 246, 252, 253, 260, 270, 271, 293, 294, 316, 330, 331, 332,
    333, 366, 381, 387, 389, 396, 397, 402, 403, 404, 405, 406, 407, 408, 410, 412, 413, 424, 425,
    426, 435, 436, 437, 451, 469, 485, 512, 516, 520, 540, 561, 562, 566, 612, 614, 615, 623, 631,
    632, 633, 634, 637, 639, 640, 641, 642, 643, 645, 646, 647, 648, 651, 652, 656, 657, 662, 669,
    673, 679, 681, 684, 685, 687, 697, 704, 705, 708, 730, 732, 734, 737, 738, 741, 742, 745, 746,
    765, 766, 799, 800, 810, 811, 834, 839, 845, 849, 850, 858, 860, 861, 863, 867, 869, 879, 882,
    883, 884, 885, 886, 890, 898, 899, 900, 901, 920, 921, 922,
];

/// UTCTIMESTAMP tags, except SendingTime 52 and OrigSendingTime 122 (the session's own
/// SendingTime rules check those).
pub const UTC_TIMESTAMP_TAGS: &[u32] = &[
    42, 60, 62, 126, 168, 341, 342, 343, 344, 345, 367, 438, 443, 483, 515, 586, 629, 769, 779,
];

/// Enumerated fields (CHAR, STRING and INT fields with a value list; MsgType 35 is checked
/// separately, MULTIPLEVALUESTRING fields are not checked): `(tag, allowed values)`, by tag.
pub const ENUMS: &[(u32, &[&[u8]])] = &[
    // AdvSide (CHAR)
    (4, &[b"B", b"S", b"X", b"T"]),
    // AdvTransType (STRING)
    (5, &[b"N", b"C", b"R"]),
    // CommType (CHAR)
    (13, &[b"1", b"2", b"3", b"4", b"5", b"6"]),
    // HandlInst (CHAR)
    (21, &[b"1", b"2", b"3"]),
    // SecurityIDSource (STRING)
    (
        22,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G", b"H", b"I", b"J",
        ],
    ),
    // IOIQltyInd (CHAR)
    (25, &[b"L", b"M", b"H"]),
    // IOITransType (CHAR)
    (28, &[b"N", b"C", b"R"]),
    // LastCapacity (CHAR)
    (29, &[b"1", b"2", b"3", b"4"]),
    // OrdStatus (CHAR)
    (
        39,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D",
            b"E",
        ],
    ),
    // OrdType (CHAR)
    (
        40,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G", b"H", b"I", b"J", b"K", b"L", b"M", b"P",
        ],
    ),
    // Side (CHAR)
    (
        54,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"E",
            b"F", b"G",
        ],
    ),
    // TimeInForce (CHAR)
    (59, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // Urgency (CHAR)
    (61, &[b"0", b"1", b"2"]),
    // SettlType (CHAR)
    (
        63,
        &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"],
    ),
    // SymbolSfx (STRING)
    (65, &[b"WI", b"CD"]),
    // AllocTransType (CHAR)
    (71, &[b"0", b"1", b"2"]),
    // PositionEffect (CHAR)
    (77, &[b"O", b"C", b"R", b"F"]),
    // ProcessCode (CHAR)
    (81, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6"]),
    // AllocStatus (INT)
    (87, &[b"0", b"1", b"2", b"3", b"4", b"5"]),
    // AllocRejCode (INT)
    (
        88,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
        ],
    ),
    // EmailType (CHAR)
    (94, &[b"0", b"1", b"2"]),
    // EncryptMethod (INT)
    (98, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6"]),
    // CxlRejReason (INT)
    (102, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"99"]),
    // OrdRejReason (INT)
    (
        103,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"99",
        ],
    ),
    // IOIQualifier (CHAR)
    (
        104,
        &[
            b"A", b"B", b"C", b"D", b"I", b"L", b"M", b"O", b"P", b"Q", b"R", b"S", b"T", b"V",
            b"W", b"X", b"Y", b"Z",
        ],
    ),
    // DKReason (CHAR)
    (127, &[b"A", b"B", b"C", b"D", b"E", b"F", b"Z"]),
    // MiscFeeType (CHAR)
    (
        139,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12",
        ],
    ),
    // ExecType (CHAR)
    (
        150,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D",
            b"E", b"F", b"G", b"H", b"I",
        ],
    ),
    // SettlCurrFxRateCalc (CHAR)
    (156, &[b"M", b"D"]),
    // SettlInstMode (CHAR)
    (160, &[b"0", b"1", b"4", b"5"]),
    // SettlInstTransType (CHAR)
    (163, &[b"N", b"C", b"R", b"T"]),
    // SettlInstSource (CHAR)
    (165, &[b"1", b"2", b"3"]),
    // SecurityType (STRING)
    (
        167,
        &[
            b"EUSUPRA",
            b"FAC",
            b"FADN",
            b"PEF",
            b"SUPRA",
            b"FUT",
            b"OPT",
            b"CORP",
            b"CPP",
            b"CB",
            b"DUAL",
            b"EUCORP",
            b"XLINKD",
            b"STRUCT",
            b"YANK",
            b"FOR",
            b"CS",
            b"PS",
            b"BRADY",
            b"EUSOV",
            b"TBOND",
            b"TINT",
            b"TIPS",
            b"TCAL",
            b"TPRN",
            b"TNOTE",
            b"TBILL",
            b"REPO",
            b"FORWARD",
            b"BUYSELL",
            b"SECLOAN",
            b"SECPLEDGE",
            b"TERM",
            b"RVLV",
            b"RVLVTRM",
            b"BRIDGE",
            b"LOFC",
            b"SWING",
            b"DINP",
            b"DEFLTED",
            b"WITHDRN",
            b"REPLACD",
            b"MATURED",
            b"AMENDED",
            b"RETIRED",
            b"BA",
            b"BN",
            b"BOX",
            b"CD",
            b"CL",
            b"CP",
            b"DN",
            b"EUCD",
            b"EUCP",
            b"LQN",
            b"MTN",
            b"ONITE",
            b"PN",
            b"PZFJ",
            b"STN",
            b"TD",
            b"XCN",
            b"YCD",
            b"ABS",
            b"CMBS",
            b"CMO",
            b"IET",
            b"MBS",
            b"MIO",
            b"MPO",
            b"MPP",
            b"MPT",
            b"PFAND",
            b"TBA",
            b"AN",
            b"COFO",
            b"COFP",
            b"GO",
            b"MT",
            b"RAN",
            b"REV",
            b"SPCLA",
            b"SPCLO",
            b"SPCLT",
            b"TAN",
            b"TAXA",
            b"TECP",
            b"TRAN",
            b"VRDN",
            b"WAR",
            b"MF",
            b"MLEG",
            b"NONE",
            b"?",
        ],
    ),
    // StandInstDbType (INT)
    (169, &[b"0", b"1", b"2", b"3", b"4"]),
    // SettlDeliveryType (INT)
    (172, &[b"0", b"1", b"2", b"3"]),
    // AllocLinkType (INT)
    (197, &[b"0", b"1"]),
    // PutOrCall (INT)
    (201, &[b"0", b"1"]),
    // CoveredOrUncovered (INT)
    (203, &[b"0", b"1"]),
    // AllocHandlInst (INT)
    (209, &[b"1", b"2", b"3"]),
    // RoutingType (INT)
    (216, &[b"1", b"2", b"3", b"4"]),
    // BenchmarkCurveName (STRING)
    (
        221,
        &[
            b"MuniAAA",
            b"FutureSWAP",
            b"LIBID",
            b"LIBOR",
            b"OTHER",
            b"SWAP",
            b"Treasury",
            b"Euribor",
            b"Pfandbriefe",
            b"EONIA",
            b"SONIA",
            b"EUREPO",
        ],
    ),
    // StipulationType (STRING)
    (
        233,
        &[
            b"AMT",
            b"AUTOREINV",
            b"BANKQUAL",
            b"BGNCON",
            b"COUPON",
            b"CURRENCY",
            b"CUSTOMDATE",
            b"GEOG",
            b"HAIRCUT",
            b"INSURED",
            b"ISSUE",
            b"ISSUER",
            b"ISSUESIZE",
            b"LOOKBACK",
            b"LOT",
            b"LOTVAR",
            b"MAT",
            b"MATURITY",
            b"MAXSUBS",
            b"MINQTY",
            b"MININCR",
            b"MINDNOM",
            b"PAYFREQ",
            b"PIECES",
            b"PMAX",
            b"PPM",
            b"PPL",
            b"PPT",
            b"PRICE",
            b"PRICEFREQ",
            b"PROD",
            b"PROTECT",
            b"PURPOSE",
            b"PXSOURCE",
            b"RATING",
            b"RESTRICTED",
            b"SECTOR",
            b"SECTYPE",
            b"STRUCT",
            b"SUBSFREQ",
            b"SUBSLEFT",
            b"TEXT",
            b"TRDVAR",
            b"WAC",
            b"WAL",
            b"WALA",
            b"WAM",
            b"WHOLE",
            b"YIELD",
            b"SMM",
            b"CPR",
            b"CPY",
            b"CPP",
            b"ABS",
            b"MPR",
            b"PSA",
            b"PPC",
            b"MHP",
            b"HEP",
        ],
    ),
    // StipulationValue (STRING)
    (
        234,
        &[
            b"CD", b"XD", b"CC", b"XC", b"CB", b"XB", b"CR", b"XR", b"CP", b"XP", b"CS", b"SP",
            b"TR", b"GD",
        ],
    ),
    // YieldType (STRING)
    (
        235,
        &[
            b"AFTERTAX",
            b"ANNUAL",
            b"ATISSUE",
            b"AVGMATURITY",
            b"BOOK",
            b"CALL",
            b"CHANGE",
            b"CLOSE",
            b"COMPOUND",
            b"CURRENT",
            b"GROSS",
            b"GOVTEQUIV",
            b"INFLATION",
            b"INVERSEFLOATER",
            b"LASTCLOSE",
            b"LASTMONTH",
            b"LASTQUARTER",
            b"LASTYEAR",
            b"LONGAVGLIFE",
            b"MARK",
            b"MATURITY",
            b"NEXTREFUND",
            b"OPENAVG",
            b"PUT",
            b"PREVCLOSE",
            b"PROCEEDS",
            b"SEMIANNUAL",
            b"SHORTAVGLIFE",
            b"SIMPLE",
            b"TAXEQUIV",
            b"TENDER",
            b"TRUE",
            b"VALUE1_32",
            b"WORST",
        ],
    ),
    // SubscriptionRequestType (CHAR)
    (263, &[b"0", b"1", b"2"]),
    // MDUpdateType (INT)
    (265, &[b"0", b"1"]),
    // MDEntryType (CHAR)
    (
        269,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C",
        ],
    ),
    // TickDirection (CHAR)
    (274, &[b"0", b"1", b"2", b"3"]),
    // MDUpdateAction (CHAR)
    (279, &[b"0", b"1", b"2"]),
    // MDReqRejReason (CHAR)
    (
        281,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C",
        ],
    ),
    // DeleteReason (CHAR)
    (285, &[b"0", b"1"]),
    // QuoteStatus (INT)
    (
        297,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15",
        ],
    ),
    // QuoteCancelType (INT)
    (298, &[b"1", b"2", b"3", b"4"]),
    // QuoteRejectReason (INT)
    (
        300,
        &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"99"],
    ),
    // QuoteResponseLevel (INT)
    (301, &[b"0", b"1", b"2"]),
    // QuoteRequestType (INT)
    (303, &[b"1", b"2"]),
    // UnderlyingPutOrCall (INT)
    (315, &[b"0", b"1"]),
    // SecurityRequestType (INT)
    (321, &[b"0", b"1", b"2", b"3"]),
    // SecurityResponseType (INT)
    (323, &[b"1", b"2", b"3", b"4", b"5", b"6"]),
    // SecurityTradingStatus (INT)
    (
        326,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"18", b"19", b"20", b"21", b"22", b"23",
        ],
    ),
    // HaltReason (CHAR)
    (327, &[b"I", b"X", b"P", b"D", b"E", b"M"]),
    // Adjustment (INT)
    (334, &[b"1", b"2", b"3"]),
    // TradSesMethod (INT)
    (338, &[b"1", b"2", b"3"]),
    // TradSesMode (INT)
    (339, &[b"1", b"2", b"3"]),
    // TradSesStatus (INT)
    (340, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6"]),
    // MessageEncoding (STRING)
    (347, &[b"ISO-2022-JP", b"EUC-JP", b"SHIFT_JIS", b"UTF-8"]),
    // QuoteEntryRejectReason (INT)
    (368, &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"]),
    // SessionRejectReason (INT)
    (
        373,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"99",
        ],
    ),
    // BidRequestTransType (CHAR)
    (374, &[b"N", b"C"]),
    // ExecRestatementReason (INT)
    (
        378,
        &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"],
    ),
    // BusinessRejectReason (INT)
    (380, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // MsgDirection (CHAR)
    (385, &[b"S", b"R"]),
    // DiscretionInst (CHAR)
    (388, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6"]),
    // BidType (INT)
    (394, &[b"1", b"2", b"3"]),
    // BidDescriptorType (INT)
    (399, &[b"1", b"2", b"3"]),
    // SideValueInd (INT)
    (401, &[b"1", b"2"]),
    // LiquidityIndType (INT)
    (409, &[b"1", b"2", b"3", b"4"]),
    // ProgRptReqs (INT)
    (414, &[b"1", b"2", b"3"]),
    // IncTaxInd (INT)
    (416, &[b"1", b"2"]),
    // BidTradeType (CHAR)
    (418, &[b"R", b"G", b"A", b"J"]),
    // BasisPxType (CHAR)
    (
        419,
        &[
            b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"A", b"B", b"C", b"D", b"Z",
        ],
    ),
    // PriceType (INT)
    (
        423,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11",
        ],
    ),
    // GTBookingInst (INT)
    (427, &[b"0", b"1", b"2"]),
    // ListStatusType (INT)
    (429, &[b"1", b"2", b"3", b"4", b"5", b"6"]),
    // NetGrossInd (INT)
    (430, &[b"1", b"2"]),
    // ListOrderStatus (INT)
    (431, &[b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // ListExecInstType (CHAR)
    (433, &[b"1", b"2", b"3", b"4", b"5"]),
    // CxlRejResponseTo (CHAR)
    (434, &[b"1", b"2"]),
    // MultiLegReportingType (CHAR)
    (442, &[b"1", b"2", b"3"]),
    // PartyIDSource (CHAR)
    (
        447,
        &[
            b"B", b"C", b"D", b"E", b"F", b"G", b"H", b"1", b"2", b"3", b"4", b"5", b"6", b"7",
            b"8", b"9", b"A", b"I",
        ],
    ),
    // PartyRole (INT)
    (
        452,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"18", b"19", b"20", b"21", b"22", b"24", b"25", b"26",
            b"27", b"28", b"29", b"30", b"31", b"32", b"33", b"34", b"35", b"36", b"37", b"38",
        ],
    ),
    // Product (INT)
    (
        460,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
        ],
    ),
    // QuantityType (INT)
    (465, &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8"]),
    // RoundingDirection (CHAR)
    (468, &[b"0", b"1", b"2"]),
    // DistribPaymentMethod (INT)
    (
        477,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12",
        ],
    ),
    // CancellationRights (CHAR)
    (480, &[b"Y", b"N", b"M", b"O"]),
    // MoneyLaunderingStatus (CHAR)
    (481, &[b"Y", b"N", b"1", b"2", b"3"]),
    // ExecPriceType (CHAR)
    (484, &[b"B", b"C", b"D", b"E", b"O", b"P", b"Q", b"S"]),
    // TradeReportTransType (INT)
    (487, &[b"0", b"1", b"2", b"3", b"4"]),
    // PaymentMethod (INT)
    (
        492,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15",
        ],
    ),
    // TaxAdvantageType (INT)
    (
        495,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"999",
        ],
    ),
    // FundRenewWaiv (CHAR)
    (497, &[b"Y", b"N"]),
    // RegistStatus (CHAR)
    (506, &[b"A", b"R", b"H", b"N"]),
    // RegistRejReasonCode (INT)
    (
        507,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"18", b"99",
        ],
    ),
    // RegistTransType (CHAR)
    (514, &[b"0", b"1", b"2"]),
    // OwnershipType (CHAR)
    (517, &[b"J", b"T", b"2"]),
    // ContAmtType (INT)
    (519, &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"]),
    // OwnerType (INT)
    (
        522,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
        ],
    ),
    // OrderCapacity (CHAR)
    (528, &[b"A", b"G", b"I", b"P", b"R", b"W"]),
    // MassCancelRequestType (CHAR)
    (530, &[b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // MassCancelResponse (CHAR)
    (531, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // MassCancelRejectReason (CHAR)
    (532, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"99"]),
    // QuoteType (INT)
    (537, &[b"0", b"1", b"2", b"3"]),
    // CashMargin (CHAR)
    (544, &[b"1", b"2", b"3"]),
    // CrossType (INT)
    (549, &[b"1", b"2", b"3", b"4"]),
    // CrossPrioritization (INT)
    (550, &[b"0", b"1", b"2"]),
    // SecurityListRequestType (INT)
    (559, &[b"0", b"1", b"2", b"3", b"4"]),
    // SecurityRequestResult (INT)
    (560, &[b"0", b"1", b"2", b"3", b"4", b"5"]),
    // MultiLegRptTypeReq (INT)
    (563, &[b"0", b"1", b"2"]),
    // TradSesStatusRejReason (INT)
    (567, &[b"1"]),
    // TradeRequestType (INT)
    (569, &[b"0", b"1", b"2", b"3", b"4"]),
    // MatchStatus (CHAR)
    (573, &[b"0", b"1", b"2"]),
    // ClearingInstruction (INT)
    (
        577,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
        ],
    ),
    // AccountType (INT)
    (581, &[b"1", b"2", b"3", b"4", b"6", b"7", b"8"]),
    // CustOrderCapacity (INT)
    (582, &[b"1", b"2", b"3", b"4"]),
    // MassStatusReqType (INT)
    (585, &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8"]),
    // DayBookingInst (CHAR)
    (589, &[b"0", b"1", b"2"]),
    // BookingUnit (CHAR)
    (590, &[b"0", b"1", b"2"]),
    // PreallocMethod (CHAR)
    (591, &[b"0", b"1"]),
    // AllocType (INT)
    (626, &[b"1", b"2", b"5", b"7", b"8"]),
    // ClearingFeeIndicator (STRING)
    (635, &[b"B", b"C", b"E", b"F", b"H", b"I", b"L", b"M"]),
    // PriorityIndicator (INT)
    (638, &[b"0", b"1"]),
    // QuoteRequestRejectReason (INT)
    (
        658,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"99",
        ],
    ),
    // AcctIDSource (INT)
    (660, &[b"1", b"2", b"3", b"4", b"5", b"99"]),
    // ConfirmStatus (INT)
    (665, &[b"1", b"2", b"3", b"4", b"5"]),
    // ConfirmTransType (INT)
    (666, &[b"0", b"1", b"2"]),
    // DeliveryForm (INT)
    (668, &[b"1", b"2"]),
    // LegSwapType (INT)
    (690, &[b"1", b"2", b"4", b"5"]),
    // QuotePriceType (INT)
    (
        692,
        &[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10"],
    ),
    // QuoteRespType (INT)
    (694, &[b"1", b"2", b"3", b"4", b"5", b"6"]),
    // PosType (STRING)
    (
        703,
        &[
            b"TQ", b"IAS", b"IES", b"FIN", b"SOD", b"EX", b"AS", b"TX", b"TA", b"PIT", b"TRF",
            b"ETR", b"ALC", b"PA", b"ASF", b"DLV", b"TOT", b"XM", b"SPL",
        ],
    ),
    // PosQtyStatus (INT)
    (706, &[b"0", b"1", b"2"]),
    // PosAmtType (STRING)
    (
        707,
        &[
            b"FMTM", b"IMTM", b"TVAR", b"SMTM", b"PREM", b"CRES", b"CASH", b"VADJ",
        ],
    ),
    // PosTransType (INT)
    (709, &[b"1", b"2", b"3", b"4", b"5"]),
    // PosMaintAction (INT)
    (712, &[b"1", b"2", b"3"]),
    // AdjustmentType (INT)
    (718, &[b"0", b"1", b"2", b"3"]),
    // PosMaintStatus (INT)
    (722, &[b"0", b"1", b"2", b"3", b"4"]),
    // PosMaintResult (INT)
    (723, &[b"0", b"1", b"99"]),
    // PosReqType (INT)
    (724, &[b"0", b"1", b"2", b"3"]),
    // ResponseTransportType (INT)
    (725, &[b"0", b"1"]),
    // PosReqResult (INT)
    (728, &[b"0", b"1", b"2", b"3", b"4", b"99"]),
    // PosReqStatus (INT)
    (729, &[b"0", b"1", b"2"]),
    // SettlPriceType (INT)
    (731, &[b"1", b"2"]),
    // AssignmentMethod (CHAR)
    (744, &[b"R", b"P"]),
    // ExerciseMethod (CHAR)
    (747, &[b"A", b"M"]),
    // TradeRequestResult (INT)
    (
        749,
        &[b"0", b"1", b"2", b"3", b"4", b"5", b"8", b"9", b"10"],
    ),
    // TradeRequestStatus (INT)
    (750, &[b"0", b"1", b"2"]),
    // TradeReportRejectReason (INT)
    (751, &[b"0", b"1", b"2", b"3", b"4", b"10"]),
    // SideMultiLegReportingType (INT)
    (752, &[b"1", b"2", b"3"]),
    // TrdRegTimestampType (INT)
    (770, &[b"1", b"2", b"3", b"4", b"5"]),
    // ConfirmType (INT)
    (773, &[b"1", b"2", b"3"]),
    // ConfirmRejReason (INT)
    (774, &[b"1", b"2", b"99"]),
    // BookingType (INT)
    (775, &[b"0", b"1", b"2"]),
    // AllocSettlInstType (INT)
    (780, &[b"0", b"1", b"2", b"3", b"4"]),
    // DlvyInstType (CHAR)
    (787, &[b"S", b"C"]),
    // TerminationType (INT)
    (788, &[b"1", b"2", b"3", b"4"]),
    // SettlInstReqRejCode (INT)
    (792, &[b"0", b"1", b"2", b"99"]),
    // AllocReportType (INT)
    (794, &[b"3", b"4", b"5", b"8"]),
    // AllocCancReplaceReason (INT)
    (796, &[b"1", b"2"]),
    // AllocAccountType (INT)
    (798, &[b"1", b"2", b"3", b"4", b"6", b"7", b"8"]),
    // AllocIntermedReqType (INT)
    (808, &[b"1", b"2", b"3", b"4", b"5", b"6"]),
    // ApplQueueResolution (INT)
    (814, &[b"0", b"1", b"2", b"3"]),
    // ApplQueueAction (INT)
    (815, &[b"0", b"1", b"2", b"3"]),
    // AvgPxIndicator (INT)
    (819, &[b"0", b"1", b"2"]),
    // TradeAllocIndicator (INT)
    (826, &[b"0", b"1", b"2"]),
    // ExpirationCycle (INT)
    (827, &[b"0", b"1"]),
    // TrdType (INT)
    (
        828,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10",
        ],
    ),
    // PegMoveType (INT)
    (835, &[b"0", b"1"]),
    // PegOffsetType (INT)
    (836, &[b"0", b"1", b"2", b"3"]),
    // PegLimitType (INT)
    (837, &[b"0", b"1", b"2"]),
    // PegRoundDirection (INT)
    (838, &[b"1", b"2"]),
    // PegScope (INT)
    (840, &[b"1", b"2", b"3", b"4"]),
    // DiscretionMoveType (INT)
    (841, &[b"0", b"1"]),
    // DiscretionOffsetType (INT)
    (842, &[b"0", b"1", b"2", b"3"]),
    // DiscretionLimitType (INT)
    (843, &[b"0", b"1", b"2"]),
    // DiscretionRoundDirection (INT)
    (844, &[b"1", b"2"]),
    // DiscretionScope (INT)
    (846, &[b"1", b"2", b"3", b"4"]),
    // LastLiquidityInd (INT)
    (851, &[b"1", b"2", b"3"]),
    // ShortSaleReason (INT)
    (853, &[b"0", b"1", b"2", b"3", b"4", b"5"]),
    // QtyType (INT)
    (854, &[b"0", b"1"]),
    // TradeReportType (INT)
    (856, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // AllocNoOrdersType (INT)
    (857, &[b"0", b"1"]),
    // EventType (INT)
    (865, &[b"1", b"2", b"3", b"4", b"99"]),
    // InstrAttribType (INT)
    (
        871,
        &[
            b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10", b"11", b"12", b"13",
            b"14", b"15", b"16", b"17", b"18", b"19", b"20", b"21", b"22", b"99",
        ],
    ),
    // MiscFeeBasis (INT)
    (891, &[b"0", b"1", b"2"]),
    // CollAsgnReason (INT)
    (895, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // CollInquiryQualifier (INT)
    (896, &[b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7"]),
    // CollAsgnTransType (INT)
    (903, &[b"0", b"1", b"2", b"3", b"4"]),
    // CollAsgnRespType (INT)
    (905, &[b"0", b"1", b"2", b"3"]),
    // CollAsgnRejectReason (INT)
    (906, &[b"0", b"1", b"2", b"3", b"4", b"5", b"99"]),
    // CollStatus (INT)
    (910, &[b"0", b"1", b"2", b"3", b"4"]),
    // DeliveryType (INT)
    (919, &[b"0", b"1", b"2", b"3"]),
    // UserRequestType (INT)
    (924, &[b"1", b"2", b"3", b"4"]),
    // UserStatus (INT)
    (926, &[b"1", b"2", b"3", b"4", b"5", b"6"]),
    // StatusValue (INT)
    (928, &[b"1", b"2", b"3", b"4"]),
    // NetworkRequestType (INT)
    (935, &[b"1", b"2", b"4", b"8"]),
    // NetworkStatusResponseType (INT)
    (937, &[b"1", b"2"]),
    // TrdRptStatus (INT)
    (939, &[b"0", b"1"]),
    // AffirmStatus (INT)
    (940, &[b"1", b"2", b"3"]),
    // CollAction (INT)
    (944, &[b"0", b"1", b"2"]),
    // CollInquiryStatus (INT)
    (945, &[b"0", b"1", b"2", b"3", b"4"]),
    // CollInquiryResult (INT)
    (
        946,
        &[
            b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"99",
        ],
    ),
];

/// Whether `value` is well-formed for `tag`'s dictionary type (tags without a checked type
/// always are). Decimals: an optional `-`, digits with at most one `.`, at least one digit (no
/// `+`, no exponent). O(log n).
pub fn value_format_ok(tag: u32, value: &[u8]) -> bool {
    if INT_TAGS.binary_search(&tag).is_ok() {
        let digits = value.strip_prefix(b"-").unwrap_or(value);
        !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit)
    } else if CHAR_TAGS.binary_search(&tag).is_ok() {
        value.len() == 1
    } else if BOOLEAN_TAGS.binary_search(&tag).is_ok() {
        value == b"Y" || value == b"N"
    } else if DECIMAL_TAGS.binary_search(&tag).is_ok() {
        decimal_ok(value)
    } else if UTC_TIMESTAMP_TAGS.binary_search(&tag).is_ok() {
        crate::fix::parse_utc_timestamp(value).is_some()
    } else {
        true
    }
}

fn decimal_ok(value: &[u8]) -> bool {
    let v = value.strip_prefix(b"-").unwrap_or(value);
    let dots = v.iter().filter(|&&c| c == b'.').count();
    dots <= 1
        && v.iter().any(u8::is_ascii_digit)
        && v.iter().all(|&c| c == b'.' || c.is_ascii_digit())
}

/// Whether `value` is one of `tag`'s enumerated values (tags without a value list always
/// pass). O(log n + values of the tag).
pub fn value_in_enum(tag: u32, value: &[u8]) -> bool {
    match ENUMS.binary_search_by_key(&tag, |&(t, _)| t) {
        Ok(i) => ENUMS[i].1.contains(&value),
        Err(_) => true,
    }
}

/// Required top-level body fields (ascending by tag) of the application messages that
/// QuickFIX's acceptance-test application answers (NewOrderSingle D, SecurityDefinition d,
/// QuoteRequest R, News B): the dictionary rejects a message without one of them with a
/// Reject (SessionRejectReason 1) before the application sees it. Required fields of a
/// required component count too (Instrument's Symbol 55 in D). Other types: none listed.
pub fn required_body_tags(msg_type: &[u8]) -> &'static [u32] {
    match msg_type {
        b"D" => &[11, 40, 54, 55, 60],
        b"d" => &[320, 322, 323],
        b"R" => &[131, 146],
        b"B" => &[148],
        _ => &[],
    }
}

/// The delimiter (first field) of each repeating group, by NumInGroup counter: `(counter,
/// delimiter)`, ascending (FIX 4.4 dictionary). Counters whose groups start differently in
/// different messages (124, 268, 295, 420) are not listed.
pub const GROUP_DELIMITERS: &[(u32, u32)] = &[
    (33, 58),
    (73, 11),
    (78, 79),
    (85, 165),
    (136, 137),
    (146, 55),
    (199, 104),
    (215, 216),
    (232, 233),
    (267, 269),
    (296, 302),
    (382, 375),
    (384, 372),
    (386, 336),
    (398, 399),
    (428, 55),
    (453, 448),
    (454, 455),
    (457, 458),
    (473, 509),
    (510, 477),
    (518, 519),
    (534, 41),
    (539, 524),
    (552, 54),
    (555, 600),
    (558, 167),
    (576, 577),
    (580, 75),
    (604, 605),
    (627, 628),
    (670, 671),
    (683, 688),
    (702, 703),
    (711, 311),
    (735, 695),
    (753, 707),
    (756, 757),
    (768, 769),
    (778, 162),
    (781, 782),
    (801, 785),
    (802, 523),
    (804, 545),
    (806, 760),
    (816, 817),
    (862, 528),
    (864, 865),
    (870, 871),
    (887, 888),
    (897, 571),
    (936, 930),
    (938, 896),
    (948, 949),
    (952, 953),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        for t in [
            INT_TAGS,
            CHAR_TAGS,
            BOOLEAN_TAGS,
            NUM_IN_GROUP_TAGS,
            DECIMAL_TAGS,
            UTC_TIMESTAMP_TAGS,
        ] {
            assert!(t.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(ENUMS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(GROUP_DELIMITERS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn formats_and_enums() {
        assert!(value_format_ok(38, b"200.00"));
        assert!(value_format_ok(38, b"-1"));
        assert!(value_format_ok(44, b".5"));
        assert!(!value_format_ok(38, b"+200.00"));
        assert!(!value_format_ok(38, b"1.2.3"));
        assert!(!value_format_ok(38, b"."));
        assert!(!value_format_ok(38, b"1e5"));
        assert!(!value_format_ok(126, b"20040415"));
        assert!(value_format_ok(126, b"20040415-10:00:00"));
        assert!(value_in_enum(167, b"CS"));
        assert!(!value_in_enum(167, b"BOO"));
        assert!(!value_in_enum(21, b"4"));
        assert!(value_in_enum(54, b"1"));
        assert!(value_in_enum(58, b"anything"));
    }
}
