package fhir

// Code tables for reading a record. They follow the shared clinical
// reference (clinical/REFERENCE.md section 2 and codes.json); codes marked
// "read only" there, or added here for reading (eGFR, magnesium, renal and
// mental-health conditions), are used to recognise what a record holds and
// are never written into a chart. The RxNorm drug sets are generated into
// codes_gen.go.

const (
	sysLOINC     = "http://loinc.org"
	sysSNOMED    = "http://snomed.info/sct"
	sysICD10CM   = "http://hl7.org/fhir/sid/icd-10-cm"
	sysRxNorm    = "http://www.nlm.nih.gov/research/umls/rxnorm"
	sysV3Interp  = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	sysHGNC      = "http://www.genenames.org"
	sysHGNCGene  = "http://www.genenames.org/geneId"
	sysNullFlav  = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
	sysICD10     = "http://hl7.org/fhir/sid/icd-10"
	sysCondClin  = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysCondVerif = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	// sysAJCC is the AJCC staging system mCODE STU1 used for TNM and stage
	// group values ("cM1", "4").
	sysAJCC = "http://cancerstaging.org"
	// sysV2AbnFlag is HL7 v2 table 0078 (abnormal flags), whose POS and NEG
	// some interfaces put in an Observation's value.
	sysV2AbnFlag = "http://terminology.hl7.org/CodeSystem/v2-0078"
)

// knownSystems are the canonical system URIs the reader matches.
var knownSystems = map[string]bool{
	sysLOINC: true, sysSNOMED: true, sysICD10CM: true, sysRxNorm: true, sysV3Interp: true, sysHGNC: true,
	sysHGNCGene: true, sysNullFlav: true, sysICD10: true, sysCondClin: true, sysCondVerif: true, sysAJCC: true,
	sysV2AbnFlag: true, sysV2Section: true, sysICD10PCS: true,
}

// systemAliases maps other spellings of those systems (lower-cased, without
// a trailing slash) to the canonical URI: the HL7 OIDs (Epic and C-CDA
// derived data send urn:oid:2.16.840.1.113883.6.90 for ICD-10-CM), https
// and www variants, and the short names some interfaces carry.
var systemAliases = map[string]string{
	"http://loinc.org": sysLOINC, "https://loinc.org": sysLOINC, "http://www.loinc.org": sysLOINC,
	"urn:oid:2.16.840.1.113883.6.1": sysLOINC, "loinc": sysLOINC, "ln": sysLOINC,
	"http://snomed.info/sct": sysSNOMED, "https://snomed.info/sct": sysSNOMED, "urn:oid:2.16.840.1.113883.6.96": sysSNOMED,
	"snomed": sysSNOMED, "snomedct": sysSNOMED, "snomed-ct": sysSNOMED, "snomed ct": sysSNOMED, "sct": sysSNOMED,
	"http://hl7.org/fhir/sid/icd-10-cm": sysICD10CM, "https://hl7.org/fhir/sid/icd-10-cm": sysICD10CM,
	"urn:oid:2.16.840.1.113883.6.90": sysICD10CM, "icd-10-cm": sysICD10CM, "icd10cm": sysICD10CM,
	"http://hl7.org/fhir/sid/icd-10": sysICD10, "urn:oid:2.16.840.1.113883.6.3": sysICD10,
	"http://www.nlm.nih.gov/research/umls/rxnorm": sysRxNorm, "https://www.nlm.nih.gov/research/umls/rxnorm": sysRxNorm,
	"http://nlm.nih.gov/research/umls/rxnorm": sysRxNorm, "urn:oid:2.16.840.1.113883.6.88": sysRxNorm, "rxnorm": sysRxNorm,
	"http://terminology.hl7.org/codesystem/v3-observationinterpretation": sysV3Interp,
	"http://hl7.org/fhir/v3/observationinterpretation":                   sysV3Interp,
	"urn:oid:2.16.840.1.113883.5.83":                                     sysV3Interp,
	"http://www.genenames.org":                                           sysHGNC, "https://www.genenames.org": sysHGNC, "http://www.genenames.org/geneid": sysHGNCGene,
	"https://www.genenames.org/geneid": sysHGNCGene, "urn:oid:2.16.840.1.113883.6.281": sysHGNCGene,
	"http://cancerstaging.org": sysAJCC, "https://cancerstaging.org": sysAJCC,
	"http://hl7.org/fhir/v2/0078": sysV2AbnFlag, "urn:oid:2.16.840.1.113883.12.78": sysV2AbnFlag,
	"http://hl7.org/fhir/v2/0074": sysV2Section, "urn:oid:2.16.840.1.113883.12.74": sysV2Section,
	// ICD-10-PCS (Oracle Health and C-CDA derived data send the OID).
	"http://www.cms.gov/medicare/coding/icd10": sysICD10PCS, "urn:oid:2.16.840.1.113883.6.4": sysICD10PCS,
}

// obsKind classifies an Observation (or component) code.
type obsKind int

const (
	obsOther obsKind = iota
	obsER
	obsERPercent
	obsPR
	obsPRPercent
	obsHRCombined
	obsHER2
	obsHER2IHC
	obsHER2ISH
	obsHER2Ratio
	obsHER2Copies
	obsCEP17
	obsHER2Panel
	obsHER2Serum
	obsMenopause
	obsPregnancy
	obsHCG
	obsHCGQuant
	obsECOG
	obsKarnofsky
	obsLVEF
	obsLab
	obsPDL1
	obsVariant
	obsGeneStudied
	obsGenomicSource
	obsClinSig
	obsPIK3CATest
	obsPTENTest
	obsDiseaseStatus
	obsStageGroup
	obsMCategory
	obsMetHistory
	obsStainIntensity
	obsComorbidities
)

// loincObs maps LOINC Observation codes (REFERENCE.md 2.1, 2.5, 8).
var loincObs = map[string]obsKind{
	// ER
	"16112-5": obsER, "40556-3": obsER, "85337-4": obsER, "14130-9": obsER,
	"14228-1": obsERPercent, "85329-1": obsERPercent,
	"85310-1": obsStainIntensity, "85331-7": obsStainIntensity,
	// PR
	"16113-3": obsPR, "40557-1": obsPR, "85339-0": obsPR, "10861-3": obsPR, "31207-4": obsPR,
	"14230-7": obsPRPercent, "85325-9": obsPRPercent,
	"10480-2": obsHRCombined,
	// HER2
	"48676-1": obsHER2, "72383-3": obsHER2,
	"85319-2": obsHER2IHC, "18474-7": obsHER2IHC,
	"31150-6": obsHER2ISH, "85318-4": obsHER2ISH, "96893-3": obsHER2ISH,
	"49683-6": obsHER2Ratio, "74860-8": obsHER2Copies, "74861-6": obsCEP17,
	"74885-5": obsHER2Panel,
	"32996-1": obsHER2Serum, "42914-2": obsHER2Serum, "51981-9": obsHER2Serum, "72382-5": obsHER2Serum,
	// menopause, pregnancy, performance, LVEF
	"82810-3": obsPregnancy,
	"2106-3":  obsHCG, "2118-8": obsHCG, "19080-1": obsHCGQuant,
	"89247-1": obsECOG, "89243-0": obsKarnofsky,
	"10230-1": obsLVEF, "18043-0": obsLVEF, "8806-2": obsLVEF, "8807-0": obsLVEF, "18044-8": obsLVEF,
	"18045-5": obsLVEF, "79991-6": obsLVEF, "77892-8": obsLVEF, "8811-2": obsLVEF, "8812-0": obsLVEF,
	"8808-8": obsLVEF, "8810-4": obsLVEF,
	// PD-L1 (85147-7 verified; the trial-matching list is read only)
	"85147-7": obsPDL1, "83053-9": obsPDL1, "96268-8": obsPDL1, "83054-7": obsPDL1, "83052-1": obsPDL1,
	"85148-5": obsPDL1, "83056-2": obsPDL1, "83055-4": obsPDL1, "85149-3": obsPDL1, "83057-0": obsPDL1,
	// genomics
	"69548-6": obsVariant, "81252-9": obsVariant, "48018-6": obsGeneStudied,
	"48002-0": obsGenomicSource, "53037-8": obsClinSig,
	"63419-6": obsPIK3CATest, "60033-8": obsPIK3CATest, "83062-0": obsPIK3CATest, "60034-6": obsPIK3CATest,
	"85507-2": obsPIK3CATest,
	"81706-4": obsPTENTest, "81710-6": obsPTENTest, "83063-8": obsPTENTest, "94223-5": obsPTENTest,
	"47969-1": obsPTENTest, "85506-4": obsPTENTest, "95284-6": obsPTENTest, "47968-3": obsPTENTest,
	// disease status, staging
	"97509-4": obsDiseaseStatus, "88040-1": obsDiseaseStatus,
	"21908-9": obsStageGroup, "21902-2": obsStageGroup, "21914-7": obsStageGroup,
	"21907-1": obsMCategory, "21901-4": obsMCategory,
}

// shortMarkerNames are the bare names a local code may carry for a marker
// ("ER", "PR", "PgR"), matched only as the whole text or display of a code:
// Epic and Oracle panels name their components this way.
var shortMarkerNames = map[string]obsKind{
	"er": obsER, "er status": obsER, "estrogen receptor": obsER, "oestrogen receptor": obsER,
	"pr": obsPR, "pgr": obsPR, "pr status": obsPR, "pgr status": obsPR, "progesterone receptor": obsPR,
	"er %": obsERPercent, "er percent": obsERPercent, "pr %": obsPRPercent, "pgr %": obsPRPercent, "pr percent": obsPRPercent,
}

// notOrderIntents are MedicationRequest intents that order nothing: a
// proposal (a decision-support or tumour-board suggestion) says no drug
// was given or prescribed.
var notOrderIntents = map[string]bool{"proposal": true}

// snomedObs maps SNOMED observable codes used as Observation codes.
var snomedObs = map[string]obsKind{
	"1234804006":       obsERPercent,
	"1236874005":       obsStainIntensity,
	"161712005":        obsMenopause,
	"399537006":        obsStageGroup, // clinical TNM stage grouping
	"399588009":        obsStageGroup, // pathologic TNM stage grouping
	"399387003":        obsMCategory,  // cM category
	"371497001":        obsMCategory,  // pM category
	"1287652008":       obsMetHistory, // history of metastatic malignant neoplasm
	"1098951000119108": obsMetHistory,
	"398192003":        obsComorbidities,
}

// labKinds maps lab LOINC codes to the rules' lab kinds (2.5d; eGFR,
// magnesium and blood variants are read only).
var labKinds = map[string]labKind{
	"1742-6": "alt", "76625-3": "alt",
	"1920-8": "ast", "30239-8": "ast",
	"1975-2": "bilirubin", "14631-6": "bilirubin", "42719-5": "bilirubin",
	"751-8": "anc", "753-4": "anc", "26499-4": "anc",
	"4548-4": "hba1c", "17856-6": "hba1c", "4549-2": "hba1c",
	"2345-7": "glucose", "2339-0": "glucose",
	"1558-6": "fasting-glucose",
	"2160-0": "creatinine", "38483-4": "creatinine",
	"33914-3": "egfr", "48642-3": "egfr", "48643-1": "egfr", "62238-1": "egfr", "69405-9": "egfr",
	"98979-8": "egfr", "88293-6": "egfr", "88294-4": "egfr", "50044-7": "egfr",
	"2823-3": "potassium", "6298-4": "potassium",
	"19123-9": "magnesium", "2601-3": "magnesium",
}

type labKind = string

// receptorAnswer maps answer codes (2.3) to a normalised call.
var answerCalls = map[string]string{
	sysSNOMED + "|10828004":  "positive",
	sysSNOMED + "|260385009": "negative",
	sysSNOMED + "|42425007":  "equivocal",
	sysSNOMED + "|82334004":  "indeterminate",
	sysSNOMED + "|52101004":  "positive", // present
	sysSNOMED + "|2667000":   "negative", // absent
	sysLOINC + "|LA6576-8":   "positive",
	sysLOINC + "|LA6577-6":   "negative",
	sysLOINC + "|LA11885-3":  "equivocal",
	sysLOINC + "|LA11884-6":  "indeterminate",
	sysLOINC + "|LA9633-4":   "positive", // present
	sysLOINC + "|LA9634-2":   "negative", // absent
	// The interpretation codes POS/NEG/IND sent as the value itself.
	sysV3Interp + "|POS": "positive", sysV3Interp + "|NEG": "negative", sysV3Interp + "|IND": "indeterminate",
	sysV2AbnFlag + "|POS": "positive", sysV2AbnFlag + "|NEG": "negative",
}

// disorderReceptor maps disorder-level receptor codes (2.3) to marker and call.
var disorderReceptor = map[string][2]string{
	"416053008": {"er", "positive"},
	"441117001": {"er", "negative"},
	"416561008": {"pr", "positive"},
	"441118006": {"pr", "negative"},
	"427685000": {"her2", "positive"},
	"431396003": {"her2", "negative"},
}

// icdReceptor maps ICD-10-CM receptor-status codes to marker and call
// (read only, condition level, the last resort of 1.2): Z17.0 estrogen
// receptor positive status, Z17.1 estrogen receptor negative status.
var icdReceptor = map[string][2]string{
	"Z17.0": {"er", "positive"}, "Z170": {"er", "positive"},
	"Z17.1": {"er", "negative"}, "Z171": {"er", "negative"},
}

// menopauseICD maps ICD-10-CM menopausal-state codes (read only): Z78.0
// asymptomatic menopausal state.
var menopauseICD = map[string]string{"Z78.0": "postmenopausal", "Z780": "postmenopausal"}

// ihcAnswers maps HER2 IHC answer codes (LL4396-9).
var ihcAnswers = map[string]string{
	"LA6111-4": "0", "LA11841-6": "1+", "LA11842-4": "2+", "LA11843-2": "3+",
}

// menopauseAnswers maps SNOMED menopausal-status answers (2.5a).
var menopauseAnswers = map[string]string{
	"309606002": "premenopausal", "22636003": "premenopausal", "289904000": "premenopausal",
	"307429007": "postmenopausal", "76498008": "postmenopausal", "289903006": "postmenopausal",
	"371036001": "postmenopausal",
	"303111005": "perimenopausal",
	"31351009":  "induced",
}

// pregnancyAnswers maps SNOMED pregnancy-status answers (2.5b).
var pregnancyAnswers = map[string]string{
	"77386006": "pregnant", "60001007": "not-pregnant",
}

// ecogAnswers maps LOINC and SNOMED ECOG answers (2.5c).
var ecogAnswers = map[string]int{
	"LA9622-7": 0, "LA9623-5": 1, "LA9624-3": 2, "LA9625-0": 3, "LA9626-8": 4, "LA9627-6": 5,
	"425389002": 0, "422512005": 1, "422894000": 2, "423053003": 3, "423237006": 4, "423409001": 5,
}

// diseaseStatusAnswers maps cancer disease status answers (section 8).
var diseaseStatusAnswers = map[string]string{
	"271299001": "worsened", "268910001": "improved", "359746009": "stable",
	"260415000": "not-detected", "281900007": "not-detected", "709137006": "undetermined",
}

// hgncGenes maps HGNC ids to the genes the rules use (2.4).
var hgncGenes = map[string]string{
	"HGNC:1100": "BRCA1", "HGNC:1101": "BRCA2", "HGNC:26144": "PALB2", "HGNC:8975": "PIK3CA",
	"HGNC:3467": "ESR1", "HGNC:3430": "ERBB2", "HGNC:391": "AKT1", "HGNC:9588": "PTEN",
}

// brcaFindings are SNOMED BRCA findings (2.3): gene and detected.
var brcaFindings = map[string]struct {
	gene     string
	detected bool
}{
	"412734009": {"BRCA1", true}, "412736006": {"BRCA1", false},
	"412738007": {"BRCA2", true}, "412739004": {"BRCA2", false},
}

// Stage group IV and M1 codes (section 8).
var stageIVCodes = map[string]bool{"1222837003": true, "1352913000": true, "2640006": true}
var m1Codes = map[string]bool{"1229903009": true, "1229916009": true}
var m0Codes = map[string]bool{"1229901006": true}

// breastCancerSNOMED are primary breast cancer Conditions (2.6); ICD-10-CM
// C50.* is matched by prefix.
var breastCancerSNOMED = map[string]bool{
	"254837009": true, "372064008": true, "372137005": true, "254838004": true, "353431000119107": true,
	"417181009": true, "706970001": true, "427685000": true, "431396003": true,
}

// metastasisSNOMED are distant-metastasis Conditions (2.7) with their sites.
var metastasisSNOMED = map[string]string{
	"128462008": "", "94222008": "bone", "94381002": "liver", "94391008": "lung", "94225005": "brain",
	"1287652008": "", "1098951000119108": "liver",
}

// bodySiteSNOMED maps SNOMED body structures, as a secondary cancer
// Condition's bodySite (mCODE), to metastatic sites.
var bodySiteSNOMED = map[string]string{
	"272673000": "bone", "421060004": "bone", "14016003": "bone", // bone, vertebral column, bone marrow
	"10200004": "liver", "39607008": "lung", "3120008": "pleura", "12738006": "brain",
	"59441001": "lymph-node", "39937001": "skin", "15425007": "peritoneum",
}

// comorbidityRule matches a Condition code to a comorbidity group (2.8).
type comorbidityRule struct {
	kind     string
	snomed   []string
	prefixes []string // ICD-10-CM code prefixes ("I50" matches I50, I50.9, …)
	// decompensated ICD-10-CM codes (acute, acute on chronic).
	decompensated []string
}

var comorbidityRules = []comorbidityRule{
	{kind: "heart-failure", snomed: []string{"84114007", "42343007", "703272007"},
		prefixes:      []string{"I50", "I11.0", "I13.0", "I13.2"},
		decompensated: []string{"I50.21", "I50.23", "I50.31", "I50.33", "I50.41", "I50.43"}},
	{kind: "cardiomyopathy", snomed: []string{"85898001"}, prefixes: []string{"I42", "I43", "I51.81"}},
	{kind: "unstable-angina", snomed: []string{"4557003"}, prefixes: []string{"I20.0"}},
	{kind: "myocardial-infarction", snomed: []string{"22298006", "57054005"}, prefixes: []string{"I21", "I22", "I25.2"}},
	{kind: "coronary-disease", snomed: []string{"53741008", "414545008", "194828000"}, prefixes: []string{"I20", "I24", "I25"}},
	{kind: "hypertension", snomed: []string{"38341003", "59621000"}, prefixes: []string{"I10", "I11", "I12", "I13", "I15", "I16"}},
	{kind: "long-qt", snomed: []string{"9651007", "111975006"}, prefixes: []string{"I45.81", "I47.21"}},
	{kind: "bradyarrhythmia", snomed: []string{"48867003"}, prefixes: []string{"R00.1", "I49.5", "I44.1", "I44.2"}},
	{kind: "arrhythmia", snomed: []string{"698247007", "71908006", "49436004"}, prefixes: []string{"I44", "I45", "I47", "I48", "I49"}},
	{kind: "liver-disease", snomed: []string{"235856003", "19943007", "59927004"},
		prefixes: []string{"K70", "K71", "K72", "K73", "K74", "K75", "K76", "K77", "Z94.4"}},
	{kind: "ild", snomed: []string{"233703007", "205237003"}, prefixes: []string{"J84", "J70.2", "J70.3", "J70.4"}},
	{kind: "neutropenia", snomed: []string{"165517008", "409089005"}, prefixes: []string{"D70"}},
	{kind: "diabetes", snomed: []string{"73211009", "44054006", "46635009"}, prefixes: []string{"E08", "E09", "E10", "E11", "E13"}},
	{kind: "renal-impairment", snomed: []string{"709044004", "90688005", "46177005", "14669001"}, prefixes: []string{"N17", "N18", "N19"}},
	{kind: "anxiety", snomed: []string{"48694002", "197480006"}, prefixes: []string{"F41"}},
	{kind: "depression", snomed: []string{"35489007", "370143000"}, prefixes: []string{"F32", "F33"}},
	{kind: "pregnancy", snomed: []string{"77386006"}, prefixes: []string{"Z33", "Z34", "O09"}},
}

// Bilateral oophorectomy: SNOMED procedure, ICD-10-PCS resection of both
// ovaries, ICD-10-CM acquired absence of both ovaries.
var oophorectomySNOMED = map[string]bool{"29827000": true}
var oophorectomyPCS = []string{"0UT2"}
var oophorectomyICD = []string{"Z90.722"}

// brandNames maps brand and other names to canonical drug names. Generic
// names are matched too (every key of drugClasses, plus the drugs below).
var brandNames = map[string][]string{
	"herceptin": {"trastuzumab"}, "enhertu": {"fam-trastuzumab deruxtecan"}, "kadcyla": {"ado-trastuzumab emtansine"},
	"t-dxd": {"fam-trastuzumab deruxtecan"}, "t-dm1": {"ado-trastuzumab emtansine"},
	"trastuzumab deruxtecan": {"fam-trastuzumab deruxtecan"}, "trastuzumab emtansine": {"ado-trastuzumab emtansine"},
	"kisqali": {"ribociclib"}, "ibrance": {"palbociclib"}, "verzenio": {"abemaciclib"},
	"faslodex": {"fulvestrant"}, "femara": {"letrozole"}, "arimidex": {"anastrozole"}, "aromasin": {"exemestane"},
	"tykerb": {"lapatinib"}, "nerlynx": {"neratinib"}, "lupron": {"leuprolide"}, "eligard": {"leuprolide"},
	"leuprorelin": {"leuprolide"}, "zoladex": {"goserelin"}, "orserdu": {"elacestrant"}, "truqap": {"capivasertib"},
	"piqray": {"alpelisib"}, "lynparza": {"olaparib"}, "talzenna": {"talazoparib"}, "trodelvy": {"sacituzumab govitecan"},
	"keytruda": {"pembrolizumab"}, "xeloda": {"capecitabine"}, "halaven": {"eribulin"}, "perjeta": {"pertuzumab"},
	"tukysa": {"tucatinib"}, "afinitor": {"everolimus"}, "xgeva": {"denosumab"}, "prolia": {"denosumab"},
	"zometa": {"zoledronic acid"}, "reclast": {"zoledronic acid"}, "zoledronate": {"zoledronic acid"},
	"phesgo": {"pertuzumab", "trastuzumab"}, "nolvadex": {"tamoxifen"}, "soltamox": {"tamoxifen"},
	"fareston": {"toremifene"}, "evista": {"raloxifene"}, "taxol": {"paclitaxel"}, "taxotere": {"docetaxel"},
	"adriamycin": {"doxorubicin"}, "doxil": {"doxorubicin"}, "ellence": {"epirubicin"}, "cytoxan": {"cyclophosphamide"},
	"gemzar": {"gemcitabine"}, "navelbine": {"vinorelbine"}, "paraplatin": {"carboplatin"}, "tecentriq": {"atezolizumab"},
	"trelstar": {"triptorelin"}, "decapeptyl": {"triptorelin"}, "triptorelin": {"triptorelin"},
	"itovebi": {"inavolisib"}, "inavolisib": {"inavolisib"},
	"abraxane": {"nab-paclitaxel"}, "nab-paclitaxel": {"nab-paclitaxel"}, "protein-bound paclitaxel": {"nab-paclitaxel"},
	"paclitaxel protein-bound": {"nab-paclitaxel"}, "albumin-bound paclitaxel": {"nab-paclitaxel"},
	// trastuzumab biosimilars by brand (their generic names carry a suffix,
	// "trastuzumab-dkst", and match trastuzumab).
	"ogivri": {"trastuzumab"}, "herzuma": {"trastuzumab"}, "ontruzant": {"trastuzumab"}, "trazimera": {"trastuzumab"},
	"kanjinti": {"trastuzumab"}, "hercessi": {"trastuzumab"},
	"ds-8201": {"fam-trastuzumab deruxtecan"}, "ds-8201a": {"fam-trastuzumab deruxtecan"},
	"jubbonti": {"denosumab"}, "wyost": {"denosumab"},
}

// snomedSubstanceDrugs maps SNOMED CT substance codes to canonical drug
// names: the pairs REFERENCE.md 2.9 notes from the MITRE breast cancer
// treatment map (S-MITRE-BCT), read only, for records that code a
// medication by substance instead of RxNorm.
var snomedSubstanceDrugs = map[string]string{
	"373345002": "tamoxifen", "386910003": "anastrozole", "386911004": "letrozole", "387017005": "exemestane",
	"108771008": "goserelin", "397198002": "leuprolide", "385519002": "fulvestrant", "715958001": "palbociclib",
	"732257004": "ribociclib", "761851004": "abemaciclib", "387003001": "trastuzumab", "704226002": "pertuzumab",
	"702836004": "ado-trastuzumab emtansine", "386906001": "capecitabine", "386918005": "docetaxel",
	"387374002": "paclitaxel", "788050002": "alpelisib", "432162002": "olaparib", "782199007": "talazoparib",
	"716125002": "pembrolizumab", "428698007": "everolimus", "425820005": "lapatinib", "736632003": "neratinib",
	"448800004": "eribulin", "387420009": "cyclophosphamide", "372817009": "doxorubicin", "386905002": "carboplatin",
	"386920008": "gemcitabine", "719371003": "atezolizumab", "109029006": "raloxifene", "387588002": "toremifene",
	"417916005": "epirubicin", "387318005": "cisplatin", "372541004": "vinorelbine", "395926009": "zoledronic acid",
	"446321003": "denosumab",
}

// classNames maps class words in an allergy's substance to class tags.
var classNames = map[string]string{
	"taxane": "taxane", "anthracycline": "anthracycline", "platinum": "platinum",
	"aromatase inhibitor": "aromatase_inhibitor", "fluoropyrimidine": "fluoropyrimidine",
	"cdk4/6": "CDK4_6_inhibitor", "parp inhibitor": "PARP_inhibitor",
	"checkpoint inhibitor": "immune_checkpoint_inhibitor",
}
