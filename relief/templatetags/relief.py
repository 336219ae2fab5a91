from django import template

from relief.selectors import joint_inspection_of_review, owed_documents, provisional_of

register = template.Library()


@register.simple_tag
def documents_owed(declaration, review=None):
    """A provisional declaration's documents to follow, as the reader may see them (an
    agency's officer on `review`: those of the agency's items), or None."""
    provisional = provisional_of(declaration)
    if provisional is None:
        return None
    return {"provisional": provisional, "documents": owed_documents(provisional, review=review)}


@register.simple_tag
def joint_inspection_of(review):
    return joint_inspection_of_review(review)
