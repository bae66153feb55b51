"""The spillmap algorithms: each exports its QGIS inputs to files, runs one ``spillmap`` command and loads
the layers it writes (with the default style stored in their GeoPackage)."""

import json
import os
import tempfile

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsFillSymbol,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputHtml,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsRuleBasedRenderer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from . import runner

KINDS = [("inverse", "Inverse distance (within the cutoff)"), ("ring", "Distance ring (inner, outer km]"),
         ("knn", "k nearest neighbours"), ("queen", "Queen contiguity"), ("rook", "Rook contiguity")]
ISLANDS = ["keep", "drop", "error"]
MAP_COLUMNS = [("recv", "Spillover received (recv)"), ("own", "Own (direct) effect (own)"),
               ("emit", "Spillover emitted (emit)")]
#: Sequential blues for the neighbour counts; islands (0 neighbours) in orange.
BLUES = ["#deebf7", "#9ecae1", "#4292c6", "#08519c", "#08306b"]
ISLAND_COLOR = "#fd8d3c"


class SpillmapAlgorithm(QgsProcessingAlgorithm):
    """Shared: group, inputs exported to files, outputs loaded with their stored style."""

    def group(self):
        return "spillmap"

    def groupId(self):
        return "spillmap"

    def createInstance(self):
        return type(self)()

    # ---- inputs
    def _layer_input(self):
        self.addParameter(QgsProcessingParameterVectorLayer(
            "INPUT", "Polygon layer (units)", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField("LAYER_ID", "Unit id field of the layer", parentLayerParameterName="INPUT"))

    def _panel_inputs(self):
        self.addParameter(QgsProcessingParameterVectorLayer(
            "PANEL", "Panel table (long: one row per unit and year; a table layer or CSV file)",
            [QgsProcessing.TypeVector]))
        for key, label in (("ID", "Unit id field of the panel"), ("TIME", "Year field"), ("OUTCOME", "Outcome field")):
            self.addParameter(QgsProcessingParameterField(key, label, parentLayerParameterName="PANEL"))
        self.addParameter(QgsProcessingParameterField(
            "CONTROLS", "Control fields", parentLayerParameterName="PANEL", allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterField(
            "FIRST_YEAR", "First treated year field (pilots; empty: never treated)", parentLayerParameterName="PANEL",
            optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "PILOTS", "Pilot table (CSV) instead of a first-year field", extension="csv", optional=True))

    def _kind_inputs(self, ring=True):
        self.addParameter(QgsProcessingParameterEnum("KIND", "Weights", [label for _, label in KINDS], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "CUTOFF", "Cutoff (km) of inverse distance; 0: none", QgsProcessingParameterNumber.Double, 0, minValue=0))
        if ring:
            self.addParameter(QgsProcessingParameterNumber(
                "RING_INNER", "Ring inner edge (km)", QgsProcessingParameterNumber.Double, 0, minValue=0))
            self.addParameter(QgsProcessingParameterNumber(
                "RING_OUTER", "Ring outer edge (km)", QgsProcessingParameterNumber.Double, 150, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "K", "Neighbours (k nearest)", QgsProcessingParameterNumber.Integer, 5, minValue=1))

    def _draws_inputs(self, default=1000):
        self.addParameter(QgsProcessingParameterNumber(
            "EFFECTS", "Simulation draws for the effects", QgsProcessingParameterNumber.Integer, default, minValue=1))
        self.addParameter(QgsProcessingParameterNumber("SEED", "Seed", QgsProcessingParameterNumber.Integer, 0))

    def _folder_output(self):
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "Output folder"))

    # ---- exporting
    def _folder(self, parameters, context):
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        os.makedirs(folder, exist_ok=True)
        # the exported inputs go to QGIS's temporary folder: spillmap refuses an output folder holding other files
        work = tempfile.mkdtemp(prefix="spillmap_inputs_", dir=QgsProcessingUtils.tempFolder())
        return folder, work

    def _write(self, layer, path, driver, context, layer_name=None):
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = driver
        options.fileEncoding = "UTF-8"
        if layer_name:
            options.layerName = layer_name
        if os.path.exists(path):
            os.remove(path)
        error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, context.transformContext(), options)
        if error != QgsVectorFileWriter.NoError:
            raise QgsProcessingException(f"cannot write {layer.name()} to {path}: {message}")
        return path

    def _export_layer(self, parameters, context, work, feedback):
        layer = self.parameterAsVectorLayer(parameters, "INPUT", context)
        if layer is None:
            raise QgsProcessingException("The polygon layer could not be opened.")
        feedback.pushInfo(f"Exporting {layer.name()} ({layer.featureCount()} features) to a GeoPackage")
        return layer, self._write(layer, os.path.join(work, "units.gpkg"), "GPKG", context, "units")

    def _panel_args(self, parameters, context, work, feedback):
        """Panel exported to CSV and the command-line options naming its fields."""
        panel = self.parameterAsVectorLayer(parameters, "PANEL", context)
        if panel is None:
            raise QgsProcessingException("The panel table could not be opened.")
        feedback.pushInfo(f"Exporting {panel.name()} ({panel.featureCount()} rows) to CSV")
        csv = self._write(panel, os.path.join(work, "panel.csv"), "CSV", context)
        fields = {k: self.parameterAsString(parameters, k, context) for k in ("ID", "TIME", "OUTCOME", "FIRST_YEAR")}
        controls = self.parameterAsFields(parameters, "CONTROLS", context)
        pilots = self.parameterAsFile(parameters, "PILOTS", context)
        if fields["FIRST_YEAR"] and pilots:
            raise QgsProcessingException("Give either a first treated year field or a pilot table, not both.")
        args = [csv, "--y", fields["OUTCOME"], "--id", fields["ID"], "--time", fields["TIME"]]
        if controls:
            args += ["--controls", ",".join(controls)]
        if fields["FIRST_YEAR"]:
            args += ["--first-year-col", fields["FIRST_YEAR"]]
        elif pilots:
            args += ["--pilots", pilots]
        return csv, fields, controls, pilots, args

    def _kind_args(self, parameters, context, ring=True):
        kind = KINDS[self.parameterAsEnum(parameters, "KIND", context)][0]
        cutoff = self.parameterAsDouble(parameters, "CUTOFF", context)
        if kind == "ring":
            if not ring:
                raise QgsProcessingException("Ring weights are not offered here; choose another kind.")
            inner = self.parameterAsDouble(parameters, "RING_INNER", context)
            outer = self.parameterAsDouble(parameters, "RING_OUTER", context)
            return ["--ring", f"{inner:g}", f"{outer:g}"]
        args = ["--kind", kind]
        if kind == "inverse" and cutoff > 0:
            args += ["--cutoff", f"{cutoff:g}"]
        if kind == "knn":
            args += ["--k", str(self.parameterAsInt(parameters, "K", context))]
        return args

    # ---- loading
    def _load(self, path, layer_name, display, context, feedback):
        """The layer ``layer_name`` of GeoPackage ``path`` with its stored default style, loaded on completion."""
        uri = f"{path}|layername={layer_name}"
        layer = QgsVectorLayer(uri, display, "ogr")
        if not layer.isValid():
            raise QgsProcessingException(f"spillmap wrote {path} without a valid layer {layer_name}.")
        _, styled = layer.loadDefaultStyle()
        if not styled:
            feedback.pushWarning(f"{display}: no stored style in {os.path.basename(path)}")
        context.temporaryLayerStore().addMapLayer(layer)
        context.addLayerToLoadOnCompletion(layer.id(), QgsProcessingContext.LayerDetails(display, context.project(), display))
        return layer.id()

    def _summary(self, folder, name):
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}


class BuildWeights(SpillmapAlgorithm):
    def name(self):
        return "weights"

    def displayName(self):
        return "Build spatial weights"

    def shortHelpString(self):
        return ("Runs `spillmap weights` on the polygon layer: inverse distance within a cutoff, a distance ring, "
                "k nearest neighbours or contiguity, with islands kept, dropped or refused. Writes the weights "
                "(GeoDa .gal) and a layer of each unit's neighbour count (islands: 0, in orange).")

    def initAlgorithm(self, config=None):
        self._layer_input()
        self.addParameter(QgsProcessingParameterField(
            "NAME_FIELD", "Unit name field (messages)", parentLayerParameterName="INPUT", optional=True))
        self._kind_inputs()
        self.addParameter(QgsProcessingParameterEnum("ISLANDS", "Units without neighbours", ISLANDS, defaultValue=0))
        self._folder_output()
        self.addOutput(QgsProcessingOutputVectorLayer("SUMMARY", "Weights summary (neighbours per unit)"))
        self.addOutput(QgsProcessingOutputFile("WEIGHTS", "Weights file (.gal)"))
        self.addOutput(QgsProcessingOutputNumber("ISLANDS_COUNT", "Islands"))
        self.addOutput(QgsProcessingOutputString("DESCRIPTION", "Weights"))

    def processAlgorithm(self, parameters, context, feedback):
        folder, work = self._folder(parameters, context)
        layer, gpkg = self._export_layer(parameters, context, work, feedback)
        id_field = self.parameterAsString(parameters, "LAYER_ID", context)
        name_field = self.parameterAsString(parameters, "NAME_FIELD", context)
        gal = os.path.join(folder, "weights.gal")
        args = ["weights", "--layer", gpkg, "--layer-name", "units", "--id", id_field]
        if name_field:
            args += ["--name", name_field]
        args += self._kind_args(parameters, context)
        args += ["--islands", ISLANDS[self.parameterAsEnum(parameters, "ISLANDS", context)], "--out", gal, "--json"]
        summary = json.loads(runner.run(args, feedback, start=10, end=80))
        with open(os.path.join(folder, "weights_summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, ensure_ascii=False, sort_keys=True)
        counts = read_gal_counts(gal)
        path = self._summary_layer(layer, id_field, name_field, counts, os.path.join(folder, "weights_summary.gpkg"),
                                   summary.get("description", "weights"), context)
        feedback.setProgress(95)
        feedback.pushInfo(f"{summary.get('description')}: {summary.get('n')} units, {summary.get('n_islands')} islands")
        return {"SUMMARY": self._load(path, "weights_summary", "weights summary", context, feedback), "WEIGHTS": gal,
                "ISLANDS_COUNT": summary.get("n_islands"), "DESCRIPTION": summary.get("description"),
                "OUTPUT_FOLDER": folder}

    def _summary_layer(self, layer, id_field, name_field, counts, path, description, context):
        fields = QgsFields()
        fields.append(QgsField(id_field, QVariant.String))
        if name_field:
            fields.append(QgsField(name_field, QVariant.String))
        fields.append(QgsField("nbrs", QVariant.Int))
        fields.append(QgsField("island", QVariant.Int))
        memory = QgsVectorLayer(f"{QgsWkbTypes.displayString(layer.wkbType())}?crs={layer.crs().authid() or 'EPSG:4326'}",
                                "weights_summary", "memory")
        if not layer.crs().authid():
            memory.setCrs(layer.crs())
        memory.dataProvider().addAttributes(fields)
        memory.updateFields()
        features = []
        for source in layer.getFeatures():
            feature = QgsFeature(memory.fields())
            feature.setGeometry(source.geometry())
            key = str(source[id_field])
            n = counts.get(key)
            values = [key] + ([str(source[name_field])] if name_field else []) + [n, None if n is None else int(n == 0)]
            feature.setAttributes(values)
            features.append(feature)
        memory.dataProvider().addFeatures(features)
        self._write(memory, path, "GPKG", context, "weights_summary")
        saved = QgsVectorLayer(f"{path}|layername=weights_summary", "weights_summary", "ogr")
        saved.setRenderer(neighbour_renderer(sorted(set(counts.values())), description))
        error = saved.saveStyleToDatabase("spillmap", f"neighbours: {description}", True, "")
        if error:
            raise QgsProcessingException(f"cannot store the style in {path}: {error}")
        return path


def read_gal_counts(path):
    """Unit id → number of neighbours, read from a GeoDa .gal file."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    counts, i = {}, 1  # line 0: the header
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        parts = lines[i].split()
        unit, n = parts[0], int(parts[1])
        counts[unit] = n
        i += 2
    return counts


def neighbour_renderer(values, description):
    """Rule-based renderer: islands orange, then up to five classes of neighbour counts in blues."""
    root = QgsRuleBasedRenderer.Rule(None)
    group = QgsRuleBasedRenderer.Rule(None, label=f"neighbours: {description}")
    root.appendChild(group)

    def rule(expression, label, color):
        symbol = QgsFillSymbol.createSimple({"color": color, "outline_color": "#636363", "outline_width": "0.1"})
        group.appendChild(QgsRuleBasedRenderer.Rule(symbol, filterExp=expression, label=label))

    positive = [v for v in values if v > 0]
    if 0 in values:
        rule('"nbrs" = 0', "0 (island)", ISLAND_COLOR)
    if positive:
        lo, hi = min(positive), max(positive)
        n = min(len(BLUES), len(positive))
        edges = [lo + (hi - lo) * k / n for k in range(n + 1)]
        for k in range(n):
            a, b = (int(edges[k]) if k == 0 else int(edges[k]) + 1), int(edges[k + 1])
            if k == n - 1:
                b = hi
            if a > b:
                continue
            label = f"{a}" if a == b else f"{a}–{b}"
            rule(f'"nbrs" >= {a} AND "nbrs" <= {b}', label, BLUES[k if n == len(BLUES) else round(k * 4 / max(n - 1, 1))])
    return QgsRuleBasedRenderer(root)


class SpatialDurbinDid(SpillmapAlgorithm):
    def name(self):
        return "sdid"

    def displayName(self):
        return "Fit the spatial Durbin DID"

    def shortHelpString(self):
        return ("Runs `spillmap sdid`: direct, indirect (spillover) and total effects of the policy, with weights "
                "built on the polygon layer. Loads the effects table; the output folder holds the coefficient "
                "and effects tables (CSV, Markdown, LaTeX, HTML).")

    def initAlgorithm(self, config=None):
        self._panel_inputs()
        self._layer_input()
        self._kind_inputs()
        self._draws_inputs()
        self._folder_output()
        self.addOutput(QgsProcessingOutputVectorLayer("EFFECTS", "SDM-DID effects (direct, indirect, total)"))
        self.addOutput(QgsProcessingOutputHtml("REPORT", "SDM-DID tables (HTML)"))
        self.addOutput(QgsProcessingOutputNumber("INDIRECT", "Indirect (spillover) effect"))

    def processAlgorithm(self, parameters, context, feedback):
        folder, work = self._folder(parameters, context)
        _, gpkg = self._export_layer(parameters, context, work, feedback)
        *_, panel_args = self._panel_args(parameters, context, work, feedback)
        layer_id = self.parameterAsString(parameters, "LAYER_ID", context)
        args = ["sdid", *panel_args, "--layer", gpkg, "--layer-name", "units", "--layer-id", layer_id,
                *self._kind_args(parameters, context), "--effects", str(self.parameterAsInt(parameters, "EFFECTS", context)),
                "--seed", str(self.parameterAsInt(parameters, "SEED", context)), "--no-event-study",
                "--tables", "html,md", "--out", folder]
        runner.run(args, feedback)
        csv = os.path.join(folder, "sdm_did_effects.csv")
        table = QgsVectorLayer(csv, "SDM-DID effects", "ogr")
        if not table.isValid():
            raise QgsProcessingException(f"spillmap sdid did not write {csv}.")
        context.temporaryLayerStore().addMapLayer(table)
        context.addLayerToLoadOnCompletion(table.id(), QgsProcessingContext.LayerDetails(
            "SDM-DID effects", context.project(), "SDM-DID effects"))
        html = sorted(os.path.join(folder, "tables", f) for f in os.listdir(os.path.join(folder, "tables"))
                      if f.endswith(".html")) if os.path.isdir(os.path.join(folder, "tables")) else []
        summary = self._summary(folder, "sdid_summary.json")
        indirect = summary.get("sdm_did", {}).get("did_effects", {}).get("indirect", {}).get("estimate")
        return {"EFFECTS": table.id(), "REPORT": html[0] if html else None, "INDIRECT": indirect,
                "OUTPUT_FOLDER": folder}


class SiphonSweep(SpillmapAlgorithm):
    def name(self):
        return "sweep"

    def displayName(self):
        return "Siphon-radius sweep"

    def shortHelpString(self):
        return ("Runs `spillmap sweep --layers`: the spillover by distance band in one DID and the distance where "
                "it turns negative. Loads one styled layer per band (per-city effects), and gives the sweep plot "
                "(PNG) and the distance-band table (HTML).")

    def initAlgorithm(self, config=None):
        self._panel_inputs()
        self._layer_input()
        self.addParameter(QgsProcessingParameterNumber(
            "BAND", "Band width (km)", QgsProcessingParameterNumber.Double, 50, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            "MAX", "Outer edge of the last band (km)", QgsProcessingParameterNumber.Double, 600, minValue=1))
        self._draws_inputs()
        self._folder_output()
        self.addOutput(QgsProcessingOutputMultipleLayers("BANDS", "Band layers"))
        self.addOutput(QgsProcessingOutputFile("PLOT", "Sweep plot (PNG)"))
        self.addOutput(QgsProcessingOutputHtml("REPORT", "Distance-band table (HTML)"))
        self.addOutput(QgsProcessingOutputString("CROSSOVER", "Crossover"))

    def processAlgorithm(self, parameters, context, feedback):
        folder, work = self._folder(parameters, context)
        _, gpkg = self._export_layer(parameters, context, work, feedback)
        *_, panel_args = self._panel_args(parameters, context, work, feedback)
        layer_id = self.parameterAsString(parameters, "LAYER_ID", context)
        args = ["sweep", *panel_args, "--layer", gpkg, "--layer-name", "units", "--layer-id", layer_id,
                "--band", f"{self.parameterAsDouble(parameters, 'BAND', context):g}",
                "--max", f"{self.parameterAsDouble(parameters, 'MAX', context):g}",
                "--effects", str(self.parameterAsInt(parameters, "EFFECTS", context)),
                "--seed", str(self.parameterAsInt(parameters, "SEED", context)),
                "--layers", "--no-cache", "--tables", "html,md", "--out", folder]
        runner.run(args, feedback)
        bands_gpkg = os.path.join(folder, "sweep_bands.gpkg")
        names = [n for n in layer_names(bands_gpkg) if n != "layer_styles"]
        ids = [self._load(bands_gpkg, n, n, context, feedback) for n in names]
        summary = self._summary(folder, "sweep_summary.json")
        statement = (summary.get("crossover") or {}).get("statement") if isinstance(summary.get("crossover"), dict) else None
        feedback.pushInfo(statement or "")
        html = os.path.join(folder, "tables", "distance_bands.html")
        return {"BANDS": ids, "PLOT": os.path.join(folder, "sweep.png"),
                "REPORT": html if os.path.exists(html) else None, "CROSSOVER": statement, "OUTPUT_FOLDER": folder}


def layer_names(path):
    """The layers of a GeoPackage, in its order."""
    from qgis.core import QgsProviderRegistry

    meta = QgsProviderRegistry.instance().providerMetadata("ogr")
    return [sub.name() for sub in meta.querySublayers(path)] if hasattr(meta, "querySublayers") else [
        s.split("!!::!!")[1] for s in QgsVectorLayer(path, "x", "ogr").dataProvider().subLayers()]


class CityEffects(SpillmapAlgorithm):
    def name(self):
        return "effects"

    def displayName(self):
        return "Per-city effects on the map"

    def shortHelpString(self):
        return ("Runs `spillmap run` with the spatial Durbin DID only: each city's own effect and the spillover "
                "it receives and emits, with intervals, put on the polygons. Loads the styled effects layer "
                "(styled by the chosen column) and the weights summary; the report is report.html.")

    def initAlgorithm(self, config=None):
        self._panel_inputs()
        self._layer_input()
        self.addParameter(QgsProcessingParameterField(
            "NAME_FIELD", "City name field", parentLayerParameterName="INPUT", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "CUTOFF", "Cutoff (km) of the inverse-distance weights; 0: none", QgsProcessingParameterNumber.Double,
            0, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            "MAP_COLUMN", "Effect shown", [label for _, label in MAP_COLUMNS], defaultValue=0))
        self._draws_inputs()
        self._folder_output()
        self.addOutput(QgsProcessingOutputVectorLayer("EFFECTS", "Per-city effects"))
        self.addOutput(QgsProcessingOutputVectorLayer("WEIGHTS_SUMMARY", "Weights summary"))
        self.addOutput(QgsProcessingOutputHtml("REPORT", "Report (HTML)"))

    def processAlgorithm(self, parameters, context, feedback):
        folder, work = self._folder(parameters, context)
        _, gpkg = self._export_layer(parameters, context, work, feedback)
        csv, fields, controls, pilots, _ = self._panel_args(parameters, context, work, feedback)
        name_field = self.parameterAsString(parameters, "NAME_FIELD", context)
        cutoff = self.parameterAsDouble(parameters, "CUTOFF", context)
        q = json.dumps
        lines = ["[layer]", f"path = {q(gpkg)}", f"id = {q(self.parameterAsString(parameters, 'LAYER_ID', context))}",
                 'layer = "units"']
        if name_field:
            lines.append(f"name = {q(name_field)}")
        lines += ["", "[panel]", f"path = {q(csv)}", f"id = {q(fields['ID'])}", f"time = {q(fields['TIME'])}",
                  f"outcome = {q(fields['OUTCOME'])}", f"controls = {q(list(controls))}"]
        if fields["FIRST_YEAR"]:
            lines.append(f"first_year = {q(fields['FIRST_YEAR'])}")
        elif pilots:
            lines.append(f"pilots = {q(pilots)}")
        lines += ["", "[weights]", 'kind = "inverse"'] + ([f"cutoff_km = {cutoff:g}"] if cutoff > 0 else [])
        lines += ["", "[models]", "did = false", "sdid = true", "placebo = 0", "event_study = false",
                  f"effects_draws = {self.parameterAsInt(parameters, 'EFFECTS', context)}",
                  "", "[sweep]", "enabled = false",
                  "", "[output]", f"seed = {self.parameterAsInt(parameters, 'SEED', context)}",
                  f"map_column = {q(MAP_COLUMNS[self.parameterAsEnum(parameters, 'MAP_COLUMN', context)][0])}",
                  'formats = ["gpkg"]', 'tables = ["html", "md"]', ""]
        config = os.path.join(work, "effects.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        runner.run(["run", config, "--out", folder], feedback)
        out = os.path.join(folder, "spillmap.gpkg")
        report = os.path.join(folder, "report.html")
        return {"EFFECTS": self._load(out, "effects", "per-city effects", context, feedback),
                "WEIGHTS_SUMMARY": self._load(out, "weights_summary", "weights summary", context, feedback),
                "REPORT": report if os.path.exists(report) else None, "OUTPUT_FOLDER": folder}


ALGORITHMS = [BuildWeights, SpatialDurbinDid, SiphonSweep, CityEffects]
