<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"
  xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">
  <!-- the decision register (decisions.publish): one colour per status of the lifecycle -->
  <NamedLayer>
    <Name>decision-status</Name>
    <UserStyle>
      <Name>decision-status</Name>
      <Title>Рішення за станом / Decisions by status</Title>
      <FeatureTypeStyle>
        <Rule>
          <Name>draft</Name>
          <Title>Проєкт / Draft</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>draft</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#9e9e9e</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#9e9e9e</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>consultation</Name>
          <Title>Громадське обговорення / Consultation</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>consultation</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#fdd835</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#fdd835</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>agreement</Name>
          <Title>Погодження / Agreement</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>agreement</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#fb8c00</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#fb8c00</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>adopted</Name>
          <Title>Прийнято / Adopted</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>adopted</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#1e88e5</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#1e88e5</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>implementation</Name>
          <Title>Виконання / Implementation</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>implementation</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#8e24aa</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#8e24aa</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>completed</Name>
          <Title>Виконано / Completed</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>completed</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#43a047</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#43a047</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>cancelled</Name>
          <Title>Скасовано / Cancelled</Title>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>status</ogc:PropertyName><ogc:Literal>cancelled</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#e53935</CssParameter><CssParameter name="fill-opacity">0.45</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#e53935</CssParameter><CssParameter name="stroke-width">1.5</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
