<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"
  xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">
  <NamedLayer>
    <Name>hromada</Name>
    <UserStyle>
      <Name>hromada</Name>
      <Title>Територіальна громада / Hromada</Title>
      <FeatureTypeStyle>
        <Rule>
          <Name>hromada</Name>
          <Title>Територіальна громада / Hromada</Title>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#c7e9c0</CssParameter><CssParameter name="fill-opacity">0.6</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#238b45</CssParameter><CssParameter name="stroke-width">1.2</CssParameter></Stroke>
          </PolygonSymbolizer>
          <TextSymbolizer>
            <Label><ogc:PropertyName>admin_3</ogc:PropertyName></Label>
            <Font><CssParameter name="font-size">10</CssParameter></Font>
            <Fill><CssParameter name="fill">#00441b</CssParameter></Fill>
          </TextSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
