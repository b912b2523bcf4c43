from tests.deals.conftest import org

__all__ = ["org"]
