// Makes static/vendor/world-atlas/korea-region.geojson, the movement map's offline
// base: the countries around Korea from Natural Earth 1:50m (npm world-atlas 2.0.2,
// public domain), converted from TopoJSON with topojson-client 3.1.0. Run it where
// both packages are unpacked:
//   npm pack world-atlas@2.0.2 topojson-client@3.1.0 && (unpack each into a folder
//   named after its tarball) && node korea_region_outline.js > korea-region.geojson
const fs = require("fs");
const topojson = require("./topojson-client-3.1.0/package/dist/topojson-client.js");

const topo = JSON.parse(fs.readFileSync("world-atlas-2.0.2/package/countries-50m.json"));
const countries = topojson.feature(topo, topo.objects.countries);
// ISO 3166-1 numeric codes: South Korea, North Korea, Japan, China.
const keep = new Set(["410", "408", "392", "156"]);
// Polygons reaching into this box (lon, lat) are kept whole; the rest dropped.
const [west, south, east, north] = [123.0, 32.0, 132.5, 40.5];
const inBox = ([lon, lat]) => lon >= west && lon <= east && lat >= south && lat <= north;
const round = (x) => Math.round(x * 1000) / 1000;

const features = [];
for (const country of countries.features) {
  if (!keep.has(country.id)) continue;
  const geometry = country.geometry;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  const near = polygons.filter((polygon) => polygon[0].some(inBox));
  if (!near.length) continue;
  features.push({
    type: "Feature",
    id: country.id,
    properties: {name: country.properties.name},
    geometry: {
      type: "MultiPolygon",
      coordinates: near.map((p) => p.map((ring) => ring.map(([x, y]) => [round(x), round(y)]))),
    },
  });
}
process.stdout.write(JSON.stringify({type: "FeatureCollection", features}));
