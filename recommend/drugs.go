package recommend

import "sort"

// drugInfo is one drug of the catalogue: its verified RxNorm ingredient code
// (empty when the code is partial or unverified in codes.json, so the drug is
// written by name only) and its class tags from rxnorm-drug-sets.json.
type drugInfo struct {
	rxnorm  string
	classes []string
}

// Class tags (the "classes" keys of rxnorm-drug-sets.json).
const (
	classEndocrine   = "endocrine"
	classAI          = "aromatase_inhibitor"
	classNSAI        = "NSAI"
	classSERD        = "SERD"
	classSERM        = "SERM"
	classOFS         = "ovarian_function_suppression"
	classGnRH        = "GnRH_agonist"
	classCDK46       = "CDK4_6_inhibitor"
	classHER2        = "HER2_directed"
	classHER2Cardio  = "cardiotoxic_HER2"
	classHER2TKI     = "HER2_TKI"
	classADC         = "ADC"
	classChemo       = "chemotherapy"
	classTaxane      = "taxane"
	classAnthra      = "anthracycline"
	classPlatinum    = "platinum"
	classPARP        = "PARP_inhibitor"
	classPI3K        = "PI3K_AKT_mTOR_inhibitor"
	classHyperglyc   = "hyperglycemia_risk"
	classDiarrhea    = "diarrhea_risk"
	classNeutropenia = "neutropenia_risk"
	classILD         = "ILD_risk"
	classHepato      = "hepatotoxicity_monitoring"
	classQT          = "QT_prolonging"
	classICI         = "immune_checkpoint_inhibitor"
	classBone        = "bone_modifying_agent"
	classTROP2       = "TROP2_ADC"
	classFluoro      = "fluoropyrimidine"
)

// drugCatalogue holds every drug the rules name. Codes are the ingredient
// RXCUIs marked "verified" in codes.json (medication_rxnorm_ingredient);
// T-DXd, tucatinib, talazoparib, sacituzumab govitecan (partial),
// capivasertib and elacestrant (unverified), triptorelin, inavolisib and
// nab-paclitaxel carry no code. Never mutated.
var drugCatalogue = map[string]drugInfo{
	"tamoxifen":                  {"10324", []string{classSERM, classEndocrine}},
	"toremifene":                 {"38409", []string{classSERM, classEndocrine}},
	"anastrozole":                {"84857", []string{classAI, classNSAI, classEndocrine}},
	"letrozole":                  {"72965", []string{classAI, classNSAI, classEndocrine}},
	"exemestane":                 {"258494", []string{classAI, "SAI", classEndocrine}},
	"fulvestrant":                {"282357", []string{classSERD, classEndocrine}},
	"elacestrant":                {"", []string{classSERD, classEndocrine, "oral_SERD"}},
	"goserelin":                  {"50610", []string{classGnRH, classOFS}},
	"leuprolide":                 {"42375", []string{classGnRH, classOFS}},
	"triptorelin":                {"", []string{classGnRH, classOFS}},
	"palbociclib":                {"1601374", []string{classCDK46, classILD, classNeutropenia}},
	"ribociclib":                 {"1873916", []string{classCDK46, classQT, classHepato, classILD, classNeutropenia}},
	"abemaciclib":                {"1946825", []string{classCDK46, classDiarrhea, classHepato, classILD, classNeutropenia}},
	"alpelisib":                  {"2169285", []string{classPI3K, classHyperglyc, classDiarrhea}},
	"capivasertib":               {"", []string{classPI3K, classHyperglyc, classDiarrhea}},
	"inavolisib":                 {"", []string{classPI3K, classHyperglyc}},
	"everolimus":                 {"141704", []string{classPI3K, classHyperglyc, classILD}},
	"olaparib":                   {"1597582", []string{classPARP}},
	"talazoparib":                {"", []string{classPARP}},
	"trastuzumab":                {"224905", []string{classHER2, classHER2Cardio}},
	"pertuzumab":                 {"1298944", []string{classHER2, classHER2Cardio}},
	"ado-trastuzumab emtansine":  {"1371041", []string{classHER2, classADC, classHER2Cardio}},
	"fam-trastuzumab deruxtecan": {"", []string{classHER2, classADC, classILD, classHER2Cardio}},
	"tucatinib":                  {"", []string{classHER2, classHER2TKI, classDiarrhea, classHepato}},
	"lapatinib":                  {"480167", []string{classHER2, classHER2TKI}},
	"neratinib":                  {"1940643", []string{classHER2, classHER2TKI, classDiarrhea}},
	"sacituzumab govitecan":      {"", []string{classADC, classTROP2, classNeutropenia, classDiarrhea}},
	"pembrolizumab":              {"1547545", []string{classICI}},
	"atezolizumab":               {"1792776", []string{classICI}},
	"capecitabine":               {"194000", []string{classChemo, classFluoro}},
	"docetaxel":                  {"72962", []string{classChemo, classTaxane}},
	"paclitaxel":                 {"56946", []string{classChemo, classTaxane}},
	"nab-paclitaxel":             {"", []string{classChemo, classTaxane}},
	"eribulin":                   {"1045452", []string{classChemo}},
	"doxorubicin":                {"3639", []string{classChemo, classAnthra, "cardiotoxic_anthracycline"}},
	"epirubicin":                 {"3995", []string{classChemo, classAnthra, "cardiotoxic_anthracycline"}},
	"cyclophosphamide":           {"3002", []string{classChemo}},
	"carboplatin":                {"40048", []string{classChemo, classPlatinum}},
	"cisplatin":                  {"2555", []string{classChemo, classPlatinum}},
	"gemcitabine":                {"12574", []string{classChemo}},
	"vinorelbine":                {"39541", []string{classChemo}},
	"zoledronic acid":            {"77655", []string{classBone}},
	"denosumab":                  {"993449", []string{classBone}},
}

// drugHas reports whether the named drug carries the class tag.
func drugHas(name, class string) bool {
	for _, c := range drugCatalogue[name].classes {
		if c == class {
			return true
		}
	}
	return false
}

// newDrug builds a regimen drug with its verified code and classes.
func newDrug(name string) Drug {
	info := drugCatalogue[name]
	cl := append([]string(nil), info.classes...)
	sort.Strings(cl)
	return Drug{Name: name, RxNorm: info.rxnorm, Classes: cl}
}

// oneOf builds drugs the clinician chooses one of (the same Choice group).
func oneOf(group string, names ...string) []Drug {
	out := make([]Drug, 0, len(names))
	for _, n := range names {
		d := newDrug(n)
		d.Choice = group
		out = append(out, d)
	}
	return out
}

// drugs builds drugs that are all given.
func drugs(names ...string) []Drug {
	out := make([]Drug, 0, len(names))
	for _, n := range names {
		out = append(out, newDrug(n))
	}
	return out
}

// isAnticancer says whether a drug counts toward a regimen (section 8: bone
// agents, GnRH agonists and supportive drugs do not).
func isAnticancer(name string) bool {
	info, ok := drugCatalogue[name]
	if !ok {
		return false
	}
	for _, c := range info.classes {
		if c == classBone || c == classGnRH {
			return false
		}
	}
	return true
}

// optionHas reports whether any drug of o carries the class.
func optionHas(o Option, class string) bool {
	for _, d := range o.Drugs {
		if drugHas(d.Name, class) {
			return true
		}
	}
	return false
}

// optionHasDrug reports whether o includes the named drug.
func optionHasDrug(o Option, name string) bool {
	for _, d := range o.Drugs {
		if d.Name == name {
			return true
		}
	}
	return false
}
