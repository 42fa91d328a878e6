"""INSPIRE code lists the node's metadata uses, from the INSPIRE registry (https://inspire.ec.europa.eu/registry).

Kept as data here (the registry is not reachable offline): the 34 spatial data themes of Directive
2007/2/EC Annexes I–III with their registry codes, the GEMET thesaurus citation the Technical Guidelines
(TG Metadata 2.0.1, requirement 1.4/1.5) prescribe for them, the limitations-on-public-access code list
(TG C.2.21), the classification of spatial data services (Regulation 1205/2008 part D.4) and the
conformity specification (Regulation 1089/2010).
"""

from __future__ import annotations

INSPIRE_THEME_SCHEME = "http://inspire.ec.europa.eu/theme"
#: the GEMET thesaurus as TG Metadata 2.0 cites it (title and publication date are both required)
GEMET_TITLE = "GEMET - INSPIRE themes, version 1.0"
GEMET_DATE = "2008-06-01"

THEMES: dict[str, str] = {
    # Annex I
    "Coordinate reference systems": "rs", "Geographical grid systems": "gg", "Geographical names": "gn",
    "Administrative units": "au", "Addresses": "ad", "Cadastral parcels": "cp", "Transport networks": "tn",
    "Hydrography": "hy", "Protected sites": "ps",
    # Annex II
    "Elevation": "el", "Land cover": "lc", "Orthoimagery": "oi", "Geology": "ge",
    # Annex III
    "Statistical units": "su", "Buildings": "bu", "Soil": "so", "Land use": "lu",
    "Human health and safety": "hh", "Utility and governmental services": "us",
    "Environmental monitoring facilities": "ef", "Production and industrial facilities": "pf",
    "Agricultural and aquaculture facilities": "af", "Population distribution — demography": "pd",
    "Area management/restriction/regulation zones and reporting units": "am", "Natural risk zones": "nz",
    "Atmospheric conditions": "ac", "Meteorological geographical features": "mf",
    "Oceanographic geographical features": "of", "Sea regions": "sr", "Bio-geographical regions": "br",
    "Habitats and biotopes": "hb", "Species distribution": "sd", "Energy resources": "er",
    "Mineral resources": "mr",
}

LIMITATIONS_ON_PUBLIC_ACCESS = "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess"
NO_LIMITATIONS = f"{LIMITATIONS_ON_PUBLIC_ACCESS}/noLimitations"
#: Directive 2007/2/EC article 13(1) grounds, as the code list's values
ACCESS_GROUNDS = {  # geoportal.config.Access → (code, English label)
    "public": ("noLimitations", "No limitations to public access"),
    # confidentiality of the proceedings of public authorities
    "officials": ("INSPIRE_Directive_Article13_1a", "Public access limited according to Article 13(1)(a) "
                                                    "of the INSPIRE Directive"),
    # international relations, public security or national defence
    "restricted": ("INSPIRE_Directive_Article13_1b", "Public access limited according to Article 13(1)(b) "
                                                     "of the INSPIRE Directive"),
}

SPATIAL_DATA_SERVICE_CATEGORY = "http://inspire.ec.europa.eu/metadata-codelist/SpatialDataServiceCategory"
SPATIAL_DATA_SERVICE_TYPE = "http://inspire.ec.europa.eu/metadata-codelist/SpatialDataServiceType"
#: the conformity specification of dataset metadata (TG Requirement 1.9/1.10 cites it with its date)
INTEROPERABILITY_REGULATION = ("COMMISSION REGULATION (EU) No 1089/2010 of 23 November 2010 implementing "
                               "Directive 2007/2/EC of the European Parliament and of the Council as regards "
                               "interoperability of spatial data sets and services")
INTEROPERABILITY_REGULATION_DATE = "2010-12-08"
NETWORK_SERVICES_REGULATION = ("COMMISSION REGULATION (EC) No 976/2009 of 19 October 2009 implementing "
                               "Directive 2007/2/EC of the European Parliament and of the Council as regards "
                               "the Network Services")
NETWORK_SERVICES_REGULATION_DATE = "2009-10-20"


def inspire_theme_iri(name: str) -> str | None:
    """The registry IRI of an INSPIRE theme given by its English name (None when it is not one)."""
    code = THEMES.get(name)
    return f"{INSPIRE_THEME_SCHEME}/{code}" if code else None
