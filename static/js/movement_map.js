// The movement page's map (templates/devices/movement.html): Leaflet over an offline
// base (Natural Earth outlines, static/vendor/world-atlas), no tiles from anywhere.
// The data comes from the page's json_script element; nothing runs inline (CSP).
(function () {
  const element = document.getElementById("movement-map");
  const source = document.getElementById("movement-map-data");
  if (!element || !source || !window.L) return;
  const data = JSON.parse(source.textContent);

  const STATUS_COLOURS = {closed: "#1e7b34", opened: "#e07b00", tampered: "#b3261e", "": "#0b5cad"};
  const map = L.map(element, {keyboard: true, zoomSnap: 0.5, attributionControl: true});
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution("Natural Earth");

  fetch(element.dataset.base)
    .then((response) => response.json())
    .then((land) => {
      L.geoJSON(land, {
        interactive: false,
        style: {color: "#9aa6b2", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1},
      }).addTo(map).bringToBack();
    })
    .catch(() => element.classList.add("no-base"));

  const bounds = [];
  if (data.route.length > 1) {
    L.polyline(data.route, {color: "#5b6776", weight: 3, dashArray: "8 6"}).addTo(map);
  }
  for (const office of data.offices) {
    bounds.push([office.lat, office.lon]);
    L.circleMarker([office.lat, office.lon], {
      radius: 8, color: "#0f2a47", weight: 2, fillColor: "#ffffff", fillOpacity: 1,
    })
      .bindTooltip(`${office.code} ${office.name} (${office.role})`, {permanent: office.role !== "itinerary", direction: "right"})
      .addTo(map);
  }
  const track = data.points.map((p) => [p.lat, p.lon]);
  if (track.length > 1) {
    L.polyline(track, {color: "#0b5cad", weight: 2, opacity: 0.7}).addTo(map);
  }
  for (const point of data.points) {
    bounds.push([point.lat, point.lon]);
    const colour = STATUS_COLOURS[point.status] || STATUS_COLOURS[""];
    const parts = [point.at.replace("T", " ").slice(0, 19)];
    if (point.status) parts.push(`seal ${point.status}`);
    if (point.temperature !== null) parts.push(`${point.temperature} °C`);
    if (point.alert) parts.push(`alert: ${point.alert}`);
    L.circleMarker([point.lat, point.lon], {
      radius: point.alert ? 7 : 4,
      color: point.alert ? "#b3261e" : colour,
      weight: point.alert ? 3 : 1,
      fillColor: colour,
      fillOpacity: 0.9,
    })
      .bindTooltip(parts.join(" · "))
      .addTo(map);
  }
  if (bounds.length) {
    map.fitBounds(bounds, {padding: [30, 30], maxZoom: 11});
  } else {
    map.setView([36.3, 127.8], 7);
  }
})();
