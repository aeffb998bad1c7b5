"""The book's experiments as recipes: settings, the book's reported figure, and the band ours must
reach. `get_recipe("lenet")`, `list_recipes("*-tuned")`, `recipe_config(recipe, "cpu")`.

Adding one is one `register_recipes(Recipe(...))` call in any module of this package (a new file is
found by itself). An experiment that is not one training run registers its runner first, in the
same module: `register_kind(Kind(name=..., run=...))` from `d2lkit.recipes.kinds`.
"""

from d2lkit.recipes.recipe import Band, BookFigure, CpuProfile, Recipe, resolve_profile
from d2lkit.recipes.registry import (
    book_comparison,
    finish_single_run,
    flag_changes,
    get_recipe,
    list_recipes,
    missing_requirements,
    recipe_config,
    recipe_options,
    register_recipes,
    single_run_config,
)

__all__ = [
    "Band",
    "BookFigure",
    "CpuProfile",
    "Recipe",
    "book_comparison",
    "finish_single_run",
    "flag_changes",
    "get_recipe",
    "list_recipes",
    "missing_requirements",
    "recipe_config",
    "recipe_options",
    "register_recipes",
    "resolve_profile",
    "single_run_config",
]
