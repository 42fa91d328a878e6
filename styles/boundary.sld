<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"
  xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">
  <NamedLayer>
    <Name>boundary</Name>
    <UserStyle>
      <Name>boundary</Name>
      <Title>Межа області / Oblast boundary</Title>
      <FeatureTypeStyle>
        <Rule>
          <Name>boundary</Name>
          <Title>Межа області / Oblast boundary</Title>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#fff7bc</CssParameter><CssParameter name="fill-opacity">0.25</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#8c2d04</CssParameter><CssParameter name="stroke-width">2.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
