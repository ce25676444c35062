"""The JSON Schema of drill and lab files, as editors use it (``zonedrill schema``).

The schema is generated from the same models that read the files, with their descriptions.
Two changes make it usable in an editor: defaults are written the way a file writes them
(``baseline: "10s"``, not the 10.0 seconds the model holds, which ``validate`` would refuse),
and titles are left out where pydantic would only make them up from the key ("Stopif").
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, SchemaSerializer, core_schema

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class FileSchema(GenerateJsonSchema):
    """Defaults in their file form, no generated field titles."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        """Never: a title made up from the key ("Stopif") says less than the key itself."""
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        """The field's schema with its default as a file would write it (factories too)."""
        json_schema = super().default_schema(schema)
        if "default" in json_schema:
            json_schema["default"] = _as_written(schema["schema"], schema["default"])
        elif schema.get("default_factory") and not schema.get("default_factory_takes_data"):
            made = schema["default_factory"]()  # type: ignore[call-arg]
            if isinstance(made, list) and made:  # [kube-system]; an empty list says nothing
                json_schema["default"] = _as_written(schema["schema"], made)
        return json_schema

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        """A map with patterned keys (zone names) refuses other keys, as validate does."""
        json_schema = super().dict_schema(schema)
        if "patternProperties" in json_schema:
            json_schema["additionalProperties"] = False
        return json_schema


def _as_written(field_schema: CoreSchema, value: Any) -> Any:
    """The default serialized by its own field's serializer, in JSON mode (durations as text)."""
    return SchemaSerializer(field_schema).to_python(value, mode="json", by_alias=True)


def file_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of files read by ``model``."""
    generated = model.model_json_schema(
        by_alias=True, mode="validation", schema_generator=FileSchema
    )
    return {"$schema": SCHEMA_DIALECT, **generated}
