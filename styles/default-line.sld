<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"
  xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">
  <NamedLayer>
    <Name>default-line</Name>
    <UserStyle>
      <Name>default-line</Name>
      <Title>Лінія / Line</Title>
      <FeatureTypeStyle>
        <Rule>
          <Name>line</Name>
          <Title>Об’єкт / Feature</Title>
          <LineSymbolizer>
            <Stroke><CssParameter name="stroke">#e6550d</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </LineSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
